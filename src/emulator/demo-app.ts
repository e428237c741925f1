/** The scenario's app when none is given (also `pending-hooks emulate`'s): a module of its own, so the CLI can name it in its help without loading the emulator. */
export const demoApiKey = 'demo-key';
export const demoSecret = 'demo-secret-do-not-use-in-production';
