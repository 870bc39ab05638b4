// on-headers ships no types; this is its whole API.
declare module "on-headers" {
  import type { ServerResponse } from "node:http";
  /** Calls listener (with `this` the response) once, just before the response writes its headers. */
  export default function onHeaders<R extends ServerResponse>(res: R, listener: (this: R) => void): void;
}
