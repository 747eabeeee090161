import { z } from 'zod';
import { Backend } from './triggers.js';

/** One line of the CLI health checklist (`GET /api/backends`, `agented doctor`). */
export const BackendStatus = z
  .object({
    name: Backend,
    installed: z.boolean(),
    /** Absolute path of the executable that would run, when found. */
    path: z.string().nullable(),
    /** What `<cli> --version` printed: its first line that shows a version, cleaned of control characters and cut at 100 characters; null when it printed none or did not run. */
    version: z.string().nullable(),
    authenticated: z.boolean(),
    /** Where the credentials were found: the name of an environment variable or a file path, never the secret. */
    authSource: z.string().nullable(),
    usable: z.boolean(),
    /** The exact command or step that fixes what is missing; null when usable. */
    hint: z.string().nullable(),
  })
  .meta({ id: 'BackendStatus' });
export type BackendStatus = z.infer<typeof BackendStatus>;

export const BackendChecklist = z
  .object({
    items: z.array(BackendStatus),
    checkedAt: z.string(),
    /** Where PATH came from: the user's login shell (as a terminal sees it) or this process. */
    pathSource: z.enum(['login-shell', 'process']),
  })
  .meta({ id: 'BackendChecklist' });
export type BackendChecklist = z.infer<typeof BackendChecklist>;

export const BackendQuery = z.object({ refresh: z.enum(['0', '1', 'true', 'false']).optional() });
