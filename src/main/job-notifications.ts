/**
 * The desktop app's notice when a long job ends (training, folder translation, evaluation,
 * export, any queued job): a system notification from the main process (so the renderer keeps
 * every permission denied), only while the window is not in front; a click brings it back.
 * Electron is passed in (Notification, the window), so the rule is tested without it.
 */
import type { EventName } from '../shared/events';
import { jobNotice } from '../shared/notices';

export interface NotificationLike {
  on(event: 'click', cb: () => void): void;
  show(): void;
}

export interface NotifyDeps {
  supported(): boolean;
  /** Is the window in front (then the in-app notice is enough)? */
  focused(): boolean;
  create(o: { title: string; body: string; silent: boolean }): NotificationLike;
  /** Bring the window back (a click on the notification). */
  reveal(): void;
}

/** An engine event listener that notifies the desktop of long jobs' ends. */
export function jobNotifier(deps: NotifyDeps): (event: EventName, payload: unknown) => void {
  return (event, payload) => {
    const n = jobNotice(event, payload as never);
    if (!n || !deps.supported() || deps.focused()) return;
    const note = deps.create({ title: n.title, body: n.body, silent: n.ok });
    note.on('click', () => deps.reveal());
    note.show();
  };
}
