import { TEXT } from "../messages";

export type SignInProblem = "missing" | "expired" | "unreadable" | "refused";

const EXPLANATION: Record<SignInProblem, string> = {
  missing: TEXT.signInMissing,
  expired: TEXT.signInExpired,
  unreadable: TEXT.signInRefused,
  refused: TEXT.signInRefused,
};

export function SignInPage({ problem }: { problem: SignInProblem }) {
  return (
    <main class="signin">
      <div class="signin-card">
        <h1>{TEXT.signInTitle}</h1>
        <p>{EXPLANATION[problem]}</p>
        <p class="muted">{TEXT.signInHowTo}</p>
      </div>
    </main>
  );
}
