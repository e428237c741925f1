import type { Command } from 'commander';
// Types only (erased): the commands' code still loads on first use.
import type { HooksApplyFlags, HooksAppFlags, HooksIo, HooksValidateFlags } from './hooks-run.js';

/**
 * `pending-hooks hooks validate|diff|apply <file>`: an app's `event_hooks` checked against
 * Stream's tables, compared with what Stream has, and written without deleting hooks by
 * accident. Exit codes as every command: 0 done (valid, diffed, applied or nothing to apply),
 * 1 a failure at run time (Stream unreachable or refusing), 2 a usage or configuration error —
 * which includes an invalid hooks file and an apply that would delete hooks without
 * `--allow-delete`.
 */

const fileHelp = 'JSON file: an event_hooks list, an object with "event_hooks", or the answer of GET /app';

function appOptions(command: Command): Command {
  return command
    .option('--api-key <key>', 'the app (env STREAM_API_KEY); the secret comes from env STREAM_API_SECRET only')
    .option('--base-url <url>', "Stream API base URL (env STREAM_BASE_URL, default Stream's)")
    .option('--json', 'print the report as JSON');
}

/** Adds `hooks` and its subcommands to the program; their code loads only when one runs. */
export function registerHooksCommand(program: Command, io: HooksIo = { write: (text) => void process.stdout.write(text) }): void {
  const hooks = program.command('hooks').description("check and update an app's event_hooks (webhook, SQS, SNS, pending_message) safely");
  hooks
    .command('validate')
    .description('check a hooks file against Stream\'s rules; exit 0 only when it has no error')
    .argument('<file>', fileHelp)
    .option('--fix', 'rename misspelled fields (sns_arn_topic -> sns_topic_arn) in the file, then check it')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, flags: HooksValidateFlags) => {
      const { validateHooksFile } = await import('./hooks-run.js');
      await validateHooksFile(file, flags, io);
    });
  appOptions(hooks.command('diff'))
    .description("show what applying the file would change at Stream: hooks added, changed (which fields) and deleted")
    .argument('<file>', fileHelp)
    .action(async (file: string, flags: HooksAppFlags) => {
      const { diffHooksFile } = await import('./hooks-run.js');
      await diffHooksFile(file, flags, process.env, io);
    });
  appOptions(hooks.command('apply'))
    .description('make the app\'s event_hooks what the file says; refuses to delete hooks unless --allow-delete')
    .argument('<file>', fileHelp)
    .option('--allow-delete', 'delete the hooks Stream has that the file leaves out')
    .option('--explicit-deletion', 'send only the changes (explicit_event_hooks_deletion, delete: true) instead of the whole list')
    .action(async (file: string, flags: HooksApplyFlags) => {
      const { applyHooksFile } = await import('./hooks-run.js');
      await applyHooksFile(file, flags, process.env, io);
    });
}
