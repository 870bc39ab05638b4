/**
 * The session life cycle's security events, each its own log line (OWASP Session Management
 * cheat sheet, "Logging Sessions Life Cycle"; ASVS 5.0 V16): what happened, the outcome (failures
 * too), who (the user id, when known) and which session — by its fingerprint, the first 8 hex
 * digits of sha256(ID), which names a session for an operator but cannot be put in a cookie.
 * Never the ID, a cookie, a password or an email address.
 */
import { fingerprint } from "../session/id.ts";

export type AuditEvent =
  | "sign-in"
  | "sign-out"
  | "register"
  | "other-sessions-ended"
  | "signed-out-everywhere"
  | "password-change"
  | "instructor-sign-in"
  | "instructor-sign-out"
  | "session-expired-by-instructor"
  | "session-revoked-by-instructor";

export interface AuditFields {
  userId?: number | null;
  /** The session's store key (sha256 of the ID); logged as its fingerprint only. */
  session?: string | null;
  /** The session before a sign-in gave it a new ID. */
  previousSession?: string | null;
  reason?: string;
  count?: number;
}

export type Audit = (event: AuditEvent, outcome: "success" | "failure", fields?: AuditFields) => void;

export function createAudit(log: { info(obj: object, msg: string): void }): Audit {
  const print = (key: string | null | undefined) => (key ? fingerprint(key) : undefined);
  return (event, outcome, fields = {}) => {
    const { session, previousSession, ...rest } = fields;
    log.info({ audit: event, outcome, ...rest, session: print(session), previousSession: print(previousSession) }, `${event}: ${outcome}`);
  };
}
