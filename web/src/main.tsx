/** The board's entry: sign in from the URL fragment, open the socket, render. */
import { render } from "preact";
import { signIn, forget, type Session } from "./auth";
import { Connection } from "./protocol/connection";
import { tokenRefused } from "./protocol/rest";
import { Board } from "./state/board";
import { App, readRoute } from "./ui/App";
import { SignInPage, type SignInProblem } from "./ui/SignInPage";
import "./styles.css";

performance.mark("pm:script-start");
const root = document.getElementById("app")!;

function showSignIn(problem: SignInProblem): void {
  render(<SignInPage problem={problem} />, root);
}

function start(session: Session): void {
  const newId = () => crypto.randomUUID();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let firstOnline = true;
  let board: Board;
  const connection = new Connection({
    url: `${scheme}://${location.host}/ws`,
    token: () => session.token,
    factory: (url, protocols) => new WebSocket(url, protocols) as never,
    timers: { setTimeout: (fn, ms) => window.setTimeout(fn, ms), clearTimeout: (h) => window.clearTimeout(h as number), random: Math.random },
    newId,
    onEvent: (envelope) => board.onEvent(envelope),
    onStatus: (status, { reconnected }) => {
      if (status === "signed-out") {
        forget(sessionStorage);
        connection.stop();
        showSignIn(Date.now() >= session.expiresAtMs ? "expired" : "refused");
        return;
      }
      board.onStatus(status, reconnected);
      if (status === "online" && firstOnline) {
        performance.mark("pm:socket-open");
        firstOnline = false;
      }
    },
    refusedAtHandshake: () => tokenRefused(session.token),
  });
  board = new Board(connection, session.userId, newId);
  // Chromium's own timing of "the board is usable" (bench/bench_board.py reads it).
  const stop = board.subscribe(() => {
    if (board.pool !== null && board.status === "live") {
      stop();
      requestAnimationFrame(() => performance.mark("pm:board-usable"));
    }
  });
  render(<App board={board} session={session} initial={readRoute(location.hash)} />, root);
  connection.start();
}

const result = signIn(location, sessionStorage, (url) => history.replaceState(null, "", url), Date.now());
if (result.kind === "signed-in") start(result.session);
else showSignIn(result.kind);
