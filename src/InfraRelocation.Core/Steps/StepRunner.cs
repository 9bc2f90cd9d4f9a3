using System.Runtime.ExceptionServices;

namespace InfraRelocation.Core.Steps;

/// <summary>What a step's observation found: already done, still to do, or not applicable here (with the evidence).</summary>
public sealed record Observation(bool IsDone, string Evidence, bool IsNotApplicable = false)
{
    public static Observation Done(string evidence) => new(true, evidence);
    public static Observation Pending(string evidence) => new(false, evidence);
    public static Observation NotApplicable(string evidence) => new(false, evidence, true);
}

/// <summary>
/// What an apply did: succeeded or not, and the evidence (a failure is reported, not thrown). <see cref="Changed"/>
/// false: the apply found nothing to do when it looked under its own lock (an estate write), so the step is Unchanged.
/// </summary>
public sealed record Applied(bool Succeeded, string Evidence, bool Changed = true)
{
    public static Applied Ok(string evidence) => new(true, evidence);
    public static Applied Unchanged(string evidence) => new(true, evidence, false);
    public static Applied Fail(string evidence) => new(false, evidence);
}

/// <summary>
/// One step: <see cref="Observe"/> says whether it is done, <see cref="Apply"/> does it. Without Observe the apply runs
/// and its success is done (a restore: the caller's journal makes it run once); without Apply the step only verifies.
/// With <see cref="ObserveAfterApply"/> the apply counts only when a second observation says done.
/// </summary>
public sealed record Step(string Name)
{
    public Func<CancellationToken, Task<Observation>>? Observe { get; init; }
    public Func<CancellationToken, Task<Applied>>? Apply { get; init; }
    public bool ObserveAfterApply { get; init; } = true;
    /// <summary>Set: an apply that fails transiently runs again (from its start) under this policy.</summary>
    public RetryPolicy? Retry { get; init; }
    /// <summary>Set: the step is not run at all (e.g. a hook the profile does not require).</summary>
    public string? SkipReason { get; init; }
}

public enum StepOutcome
{
    /// <summary>Observed done; nothing was applied.</summary>
    Unchanged,
    /// <summary>Applied (and, where it observes, observed done afterwards).</summary>
    Done,
    Failed,
    /// <summary>Not run because an earlier step failed.</summary>
    NotRun,
    Skipped,
    NotApplicable,
}

/// <summary>
/// A step as it ended. <see cref="Error"/>: the exception that failed it (an observation or apply that threw), null when
/// the step reported its own failure. <see cref="Attempts"/>: how many times Apply ran (retries of a transient failure).
/// </summary>
public sealed record StepRecord(int Order, string Name, StepOutcome Outcome, string Evidence, int Attempts = 0, Exception? Error = null);

/// <summary>
/// Which failures of an apply are worth another attempt (e.g. a VM locked for a moment), how often and how long, and
/// the error to give when the attempts run out. The apply must be safe to run again from its start.
/// </summary>
public sealed record RetryPolicy(Func<Exception, bool> IsTransient)
{
    public int Attempts { get; init; } = 3;
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Time from the first attempt after which no further attempt starts (null: only the count bounds it).</summary>
    public TimeSpan? Bound { get; init; }
    /// <summary>The error once attempts or time run out (last failure, attempts, time spent); null rethrows the last failure.</summary>
    public Func<Exception, int, TimeSpan, Exception>? GiveUp { get; init; }

    /// <summary>
    /// Runs <paramref name="action"/> until it succeeds, fails with a failure that is not transient, or the attempts or
    /// the time run out (then <see cref="GiveUp"/>); the delay doubles from <see cref="InitialDelay"/> up to <see cref="MaxDelay"/>.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> action, CancellationToken ct, Action<int>? attempted = null)
    {
        ArgumentNullException.ThrowIfNull(action);
        var started = DateTimeOffset.UtcNow;
        var delay = InitialDelay;
        for (var attempt = 1; ; attempt++)
        {
            attempted?.Invoke(attempt);
            try
            {
                return await action(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex) && !(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                var spent = DateTimeOffset.UtcNow - started;
                var remaining = Bound is { } bound ? bound - spent : TimeSpan.MaxValue;
                if (attempt >= Attempts || remaining <= TimeSpan.Zero)
                {
                    if (GiveUp is { } giveUp) throw giveUp(ex, attempt, spent);
                    ExceptionDispatchInfo.Throw(ex);
                }
                await Task.Delay(delay < remaining ? delay : remaining, ct).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, delay.Ticks * 2));
            }
        }
    }
}

/// <summary>
/// The one step runner of the host-changing capabilities (bootstrap, provisioning, rollback): in order, each step is
/// observed (done: Unchanged, nothing applied), else journaled as started, applied (a transient failure retried by the
/// step's <see cref="Step.Retry"/> policy) and observed again; every step's end is journaled and reported before the next begins.
/// The first failure stops the run: later steps are NotRun and earlier ones keep their records, so a re-run resumes
/// where it stopped. Ctrl+C (the token) is not a failure: it propagates as OperationCanceledException.
/// </summary>
public sealed class StepRunner
{
    /// <summary>Called before a step's apply runs (its journal says it started: a run killed inside it leaves that trace).</summary>
    public Action<Step>? Starting { get; init; }
    /// <summary>Called when a step has ended, before the next begins (journal, progress, output).</summary>
    public Action<StepRecord>? Finished { get; init; }

    public async Task<IReadOnlyList<StepRecord>> RunAsync(IReadOnlyList<Step> steps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var records = new List<StepRecord>(steps.Count);
        var failed = false;
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            StepRecord record;
            if (step.SkipReason is not null) record = new(i + 1, step.Name, StepOutcome.Skipped, step.SkipReason);
            else if (failed) record = new(i + 1, step.Name, StepOutcome.NotRun, "an earlier step failed");
            else
            {
                cancellationToken.ThrowIfCancellationRequested();
                record = await RunStepAsync(i + 1, step, cancellationToken).ConfigureAwait(false);
                failed = record.Outcome == StepOutcome.Failed;
            }
            records.Add(record);
            Finished?.Invoke(record);
        }
        return records;
    }

    private async Task<StepRecord> RunStepAsync(int order, Step step, CancellationToken ct)
    {
        var attempts = 0;
        try
        {
            if (step.Observe is not null)
            {
                var before = await step.Observe(ct).ConfigureAwait(false);
                if (before.IsNotApplicable) return new(order, step.Name, StepOutcome.NotApplicable, before.Evidence);
                if (before.IsDone) return new(order, step.Name, StepOutcome.Unchanged, before.Evidence);
                if (step.Apply is null) return new(order, step.Name, StepOutcome.Failed, before.Evidence);
            }
            else if (step.Apply is null)
            {
                throw new ArgumentException($"Step {step.Name} has neither an observation nor an apply.", nameof(step));
            }

            Starting?.Invoke(step);
            attempts = 1;
            var applied = step.Retry is { } retry
                ? await retry.RunAsync(step.Apply!, ct, n => attempts = n).ConfigureAwait(false)
                : await step.Apply!(ct).ConfigureAwait(false);
            if (!applied.Succeeded) return new(order, step.Name, StepOutcome.Failed, applied.Evidence, attempts);
            if (!applied.Changed) return new(order, step.Name, StepOutcome.Unchanged, applied.Evidence, attempts);
            if (step.Observe is null || !step.ObserveAfterApply) return new(order, step.Name, StepOutcome.Done, applied.Evidence, attempts);

            var after = await step.Observe(ct).ConfigureAwait(false);
            return after.IsDone
                ? new(order, step.Name, StepOutcome.Done, applied.Evidence, attempts)
                : new(order, step.Name, StepOutcome.Failed, $"applied, but {after.Evidence}", attempts);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new(order, step.Name, StepOutcome.Failed, ex.Message, attempts, ex);
        }
    }
}
