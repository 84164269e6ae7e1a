/** The outcome of one command, and the error @pulumi/command raises when it fails. */
export interface CommandOutcome {
    /** Trailing newline trimmed, as the provider stores it. */
    stdout: string;
    stderr: string;
}

export class CommandFailedError extends Error {
    constructor(readonly exitStatus: number | string, readonly command: string, readonly stdout: string, readonly stderr: string) {
        // Same shape as the provider: "<exit error>: running "<cmd>":\n<stdout+stderr>".
        super(`Process exited with status ${exitStatus}: running ${JSON.stringify(command)}:\n${stdout}${stderr}`);
        this.name = "CommandFailedError";
    }
}

export function trimOneNewline(text: string): string {
    return text.endsWith("\n") ? text.slice(0, -1) : text;
}
