/**
 * One spelling per email address, so one person gets one account.
 *
 * Internationalised addresses (RFC 6531) are accepted: "anné@example.com" can arrive with é as one
 * code point (NFC: most keyboards) or as e + a combining accent (NFD: macOS, some phones and
 * password managers). They look identical and are the same mailbox, so both become NFC.
 *
 * Case: the local part is lower-cased, as the shop always did for ASCII. RFC 5321 lets a mail
 * server treat "Anne" and "anne" as two mailboxes, but no mainstream provider does, and two
 * accounts that differ only in case are a support ticket, not a feature.
 *
 * The domain goes through IDNA (UTS #46, Node's url.domainToASCII): it maps case and
 * normalisation the way DNS does and gives the ASCII ("punycode") form, which is what is stored.
 * "bücher.example" and "xn--bcher-kva.example" are one domain, and addresses registered before
 * this change (ASCII-only, lower case) keep exactly the spelling they were stored with.
 */
import { domainToASCII } from "node:url";

/** RFC 6531's dot-atom: letters, marks and digits of any script, ASCII atext, single dots inside. */
const LOCAL_PART = /^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The address as stored and looked up, or null when it is not an address. */
export function normalizeEmail(input: unknown): string | null {
  if (typeof input !== "string") return null;
  const text = input.trim();
  if (text.length > 254) return null;
  const at = text.lastIndexOf("@");
  if (at <= 0) return null;
  const local = text.slice(0, at).normalize("NFC").toLowerCase().normalize("NFC");
  if (!LOCAL_PART.test(local) || Buffer.byteLength(local) > 64) return null;
  const domain = domainToASCII(text.slice(at + 1));
  const labels = domain.split(".");
  // At least a name and a top-level domain that is not a number (no "anne@localhost", no IP addresses).
  if (domain === "" || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!)) return null;
  const email = `${local}@${domain}`;
  return Buffer.byteLength(email) <= 254 ? email : null;
}
