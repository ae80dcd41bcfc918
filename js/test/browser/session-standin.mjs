// A stand-in session, importable in browsers and Node (no Node modules).
import { SessionError, SessionFrame } from "../../dist/index.js";

/**
 * A session for pipelines whose codecs have no contexts (identity,
 * templates): there a Python session's frames are the pipeline's, plus the
 * 0xff prefixes (isolated, control). Stands in until `Pipeline.session()`
 * lands in the TypeScript package; it keeps no digest (`check_every` 0).
 */
export function contextFreeSession(pipeline) {
  let failed = null;
  let flags = 0;
  return {
    encode(message, { isolated = false } = {}) {
      const inner = pipeline.encode(message);
      const prefix = SessionFrame.prefix(flags, null, isolated);
      flags = 0;
      const out = new Uint8Array(prefix.length + inner.length);
      out.set(prefix);
      out.set(inner, prefix.length);
      return out;
    },
    decodeBytes(frame) {
      const head = SessionFrame.parse(frame);
      if (head.flags & SessionFrame.RESET_DONE) failed = null;
      if (failed !== null) throw new SessionError("the session refuses frames until the peer resets");
      if (head.flags & SessionFrame.RESET_PLEASE) flags |= SessionFrame.RESET_DONE;
      try {
        return pipeline.decodeAt(frame instanceof Uint8Array ? frame : new Uint8Array(frame), head.offset);
      } catch (err) {
        failed = err;
        flags |= SessionFrame.RESET_PLEASE;
        throw err;
      }
    },
    reset() {
      flags |= SessionFrame.RESET_DONE;
      failed = null;
    },
  };
}

