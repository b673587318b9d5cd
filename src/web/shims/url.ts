/**
 * node:url in the browser build: `fileURLToPath` of a module's URL gives the path part of its http
 * URL, which the fs shim reads from the same server. Mapped by src/cli/webserver.ts.
 */
export function fileURLToPath(url: string | URL): string {
  return decodeURIComponent(new URL(String(url)).pathname);
}
