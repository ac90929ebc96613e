/** Where a command writes. `main()` gets the real streams; tests pass collectors. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: CliIo = {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
};

/** Shared by every command module: the io and the exit code the command decided. */
export interface CliContext {
  io: CliIo;
  exitCode: number;
}
