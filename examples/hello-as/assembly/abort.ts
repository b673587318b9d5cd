// The module's abort handler (asc --use abort=assembly/abort/enclaveAbort): AssemblyScript calls it
// for a failed assertion or an error it cannot continue from. It reports through the trusted
// runtime's witness.abort, which ends the ECALL as an exception (the enclave is then crashed), so
// the module needs no env.abort import.
import { putText, putUint } from "./text";

// @ts-ignore: decorator
@external("witness", "abort")
declare function witness_abort(message: usize, length: usize): void;

const ABORT_MESSAGE_SIZE: usize = 256;
const abortMessage = memory.data(<i32>ABORT_MESSAGE_SIZE);

export function enclaveAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let at = putText(abortMessage, ABORT_MESSAGE_SIZE, 0, message !== null ? message : "abort");
  if (fileName !== null) {
    at = putText(abortMessage, ABORT_MESSAGE_SIZE, at, " (");
    at = putText(abortMessage, ABORT_MESSAGE_SIZE, at, fileName);
    at = putText(abortMessage, ABORT_MESSAGE_SIZE, at, ":");
    at = putUint(abortMessage, ABORT_MESSAGE_SIZE, at, line);
    at = putText(abortMessage, ABORT_MESSAGE_SIZE, at, ":");
    at = putUint(abortMessage, ABORT_MESSAGE_SIZE, at, column);
    at = putText(abortMessage, ABORT_MESSAGE_SIZE, at, ")");
  }
  witness_abort(abortMessage, at);
  unreachable();
}
