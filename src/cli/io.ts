/** What the CLI needs from its process; tests pass their own to run it in-process. */
export interface CliIo {
    stdout(text: string): void;
    stderr(text: string): void;
    cwd: string;
    now(): Date;
}

export function processIo(): CliIo {
    return {
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
        cwd: process.cwd(),
        now: () => new Date(),
    };
}
