/** Why a .pth file was refused. Always BAD_INPUT to the user; `reason` lets tests and the UI tell cases apart. */
import { StudioError } from '../../../shared/errors';

export type PthRefusal =
  | 'REFUSED_GLOBAL' // the pickle names a global outside the state-dict allowlist (os.system, builtins.eval, ...)
  | 'REFUSED_OPCODE' // an opcode a state dict never needs (or an unknown one)
  | 'LIMIT' // a size or count past the reader's limits
  | 'CORRUPT' // truncated or inconsistent bytes
  | 'UNSAFE_PATH' // a zip entry name with .., an absolute path, a drive or a backslash
  | 'UNSUPPORTED' // well-formed, but not a format we read (compressed zip, big-endian, tar checkpoint)
  | 'NOT_STATE_DICT'; // a pickle that is not a dict of tensors

export class PthError extends StudioError {
  constructor(
    readonly reason: PthRefusal,
    message: string,
  ) {
    super('BAD_INPUT', `Refused .pth file: ${message}.`, { hint: reason === 'REFUSED_GLOBAL' || reason === 'REFUSED_OPCODE' ? 'Only plain state dicts (torch.save(net.state_dict())) can be opened; nothing in the file was run.' : undefined });
    this.name = 'PthError';
  }
}
