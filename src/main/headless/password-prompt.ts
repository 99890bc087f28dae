import readline from 'node:readline';

/**
 * Asks for passwords on the terminal without echoing them, or, when stdin is not a terminal (a script,
 * a test), reads them one per line from stdin.
 */
export class PasswordPrompt {
  private lines: AsyncIterator<string> | undefined;

  constructor(private readonly input: NodeJS.ReadStream = process.stdin, private readonly output: NodeJS.WriteStream = process.stderr) {}

  async ask(question: string): Promise<string> {
    this.output.write(question);
    if (this.input.isTTY) return this.readHidden();
    this.lines ??= readline.createInterface({ input: this.input, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const next = await this.lines.next();
    this.output.write('\n');
    if (next.done) throw new Error('No more input: a password was expected on stdin.');
    return next.value;
  }

  close(): void {
    void this.lines?.return?.();
  }

  private readHidden(): Promise<string> {
    const input = this.input;
    return new Promise((resolve, reject) => {
      let typed = '';
      input.setRawMode(true);
      input.resume();
      input.setEncoding('utf8');
      const done = (error?: Error): void => {
        input.off('data', onData);
        input.setRawMode(false);
        input.pause();
        this.output.write('\n');
        if (error) reject(error);
        else resolve(typed);
      };
      const onData = (chunk: string): void => {
        for (const c of chunk) {
          if (c === '\r' || c === '\n') return done();
          if (c === '\u0003') return done(new Error('Cancelled.'));
          if (c === '\u007f' || c === '\b') typed = typed.slice(0, -1);
          else if (c >= ' ') typed += c;
        }
      };
      input.on('data', onData);
    });
  }
}
