/** Entry of the `code-factory` CLI. Returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`code-factory: no commands yet (${argv.join(' ')})\n`);
  return 2;
}
