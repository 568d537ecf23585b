/** Commands contributed by the engine's areas. One line each; the module loads on demand. */
import { registerCommand } from './index';

void registerCommand;
