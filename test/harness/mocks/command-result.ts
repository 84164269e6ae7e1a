/** The outcome of one command, and the error @pulumi/command raises when it fails. */
import { commandErrorText } from "./provider-contract";

export interface CommandOutcome {
    /** Trailing newline trimmed, as the provider stores it. */
    stdout: string;
    stderr: string;
}

/**
 * The provider's error: `<cause>: running "<command>":\n<stdout and stderr as they arrived>`
 * (provider-contract.ts, fact command.errorText), whatever `logging` says.
 */
export class CommandFailedError extends Error {
    constructor(readonly cause: string, readonly command: string, readonly stdout: string, readonly stderr: string, combined: string) {
        super(commandErrorText(cause, command, combined));
        this.name = "CommandFailedError";
    }
}

export function trimOneNewline(text: string): string {
    return text.endsWith("\n") ? text.slice(0, -1) : text;
}
