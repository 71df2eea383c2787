// Hash routes, so the same build works from the headless host's `/` and from Electron's file://.
export type Route =
  | { screen: 'queue' }
  | { screen: 'job'; jobId: number }
  | { screen: 'uploads'; destinationId: number | null }
  | { screen: 'folders' }
  | { screen: 'destinations' }
  | { screen: 'batches' }
  | { screen: 'webhooks' }
  | { screen: 'support' }
  | { screen: 'pace' }
  | { screen: 'settings' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [screen, arg] = parts;
  const id = arg !== undefined && /^\d+$/.test(arg) ? Number(arg) : null;
  switch (screen) {
    case 'jobs':
      return id !== null ? { screen: 'job', jobId: id } : { screen: 'queue' };
    case 'uploads':
      return { screen: 'uploads', destinationId: id };
    case 'folders':
      return { screen: 'folders' };
    case 'destinations':
      return { screen: 'destinations' };
    case 'batches':
    case 'webhooks':
    case 'support':
    case 'pace':
    case 'settings':
      return { screen };
    default:
      return { screen: 'queue' };
  }
}

export function hrefOf(route: Route): string {
  switch (route.screen) {
    case 'queue':
      return '#/queue';
    case 'job':
      return `#/jobs/${route.jobId}`;
    case 'uploads':
      return route.destinationId === null ? '#/uploads' : `#/uploads/${route.destinationId}`;
    default:
      return `#/${route.screen}`;
  }
}

export class Router {
  #route = $state<Route>(parseRoute(window.location.hash));

  get route(): Route {
    return this.#route;
  }

  watch(): () => void {
    const onHash = () => (this.#route = parseRoute(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }

  go(route: Route): void {
    window.location.hash = hrefOf(route);
  }
}
