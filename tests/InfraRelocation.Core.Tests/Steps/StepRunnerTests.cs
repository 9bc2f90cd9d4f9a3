using InfraRelocation.Core.Steps;

namespace InfraRelocation.Core.Tests.Steps;

public sealed class StepRunnerTests
{
    /// <summary>A step over one flag: observed done when set, applied by setting it; every call is logged.</summary>
    private static Step Flag(string name, List<string> log, Func<bool> isSet, Action set) => new(name)
    {
        Observe = _ =>
        {
            log.Add($"observe {name}");
            return Task.FromResult(isSet() ? Observation.Done($"{name} is set") : Observation.Pending($"{name} is not set"));
        },
        Apply = _ =>
        {
            log.Add($"apply {name}");
            set();
            return Task.FromResult(Applied.Ok($"set {name}"));
        },
    };

    [Fact]
    public async Task ObservedDone_IsUnchanged_AndNothingIsApplied()
    {
        var log = new List<string>();
        var records = await new StepRunner().RunAsync([Flag("a", log, () => true, () => throw new InvalidOperationException("must not apply"))]);

        Assert.Equal(StepOutcome.Unchanged, records[0].Outcome);
        Assert.Equal("a is set", records[0].Evidence);
        Assert.Equal(0, records[0].Attempts);
        Assert.Equal(["observe a"], log);
    }

    [Fact]
    public async Task NotDone_IsApplied_ThenObservedAgain()
    {
        var log = new List<string>();
        var set = false;
        var records = await new StepRunner().RunAsync([Flag("a", log, () => set, () => set = true)]);

        Assert.Equal(StepOutcome.Done, records[0].Outcome);
        Assert.Equal("set a", records[0].Evidence);
        Assert.Equal(1, records[0].Attempts);
        Assert.Equal(["observe a", "apply a", "observe a"], log);
    }

    [Fact]
    public async Task AnApplyThatLeavesItNotDone_Fails_WithTheSecondObservation()
    {
        var log = new List<string>();
        var records = await new StepRunner().RunAsync([Flag("a", log, () => false, () => { })]);

        Assert.Equal(StepOutcome.Failed, records[0].Outcome);
        Assert.Equal("applied, but a is not set", records[0].Evidence);
        Assert.Null(records[0].Error);
    }

    [Fact]
    public async Task VerifyOnly_AndApplyOnly_Steps()
    {
        var ran = 0;
        var records = await new StepRunner().RunAsync([
            new Step("verify") { Observe = _ => Task.FromResult(Observation.Done("ok")) },
            new Step("once") { Apply = _ => { ran++; return Task.FromResult(Applied.Ok("restored")); } },
            new Step("optional") { SkipReason = "not required" },
            new Step("elsewhere") { Observe = _ => Task.FromResult(Observation.NotApplicable("no mesh here")), Apply = _ => throw new InvalidOperationException() },
            new Step("verify-fails") { Observe = _ => Task.FromResult(Observation.Pending("backup missing")) },
        ]);

        Assert.Equal([StepOutcome.Unchanged, StepOutcome.Done, StepOutcome.Skipped, StepOutcome.NotApplicable, StepOutcome.Failed], records.Select(r => r.Outcome));
        Assert.Equal(1, ran);
        Assert.Equal("backup missing", records[4].Evidence);
    }

    [Fact]
    public async Task AnApplyThatFoundNothingToDoUnderItsLock_IsUnchanged_AndTheNextStepRuns()
    {
        var records = await new StepRunner().RunAsync([
            new Step("record") { Apply = _ => Task.FromResult(Applied.Unchanged("already recorded")) },
            new Step("next") { Apply = _ => Task.FromResult(Applied.Ok("done")) },
        ]);

        Assert.Equal([(StepOutcome.Unchanged, "already recorded", 1), (StepOutcome.Done, "done", 1)], records.Select(r => (r.Outcome, r.Evidence, r.Attempts)));
    }

    [Fact]
    public async Task TheJournalIsWrittenBeforeEachApply_AndAfterEachStep_BeforeTheNextBegins()
    {
        var log = new List<string>();
        bool a = false, b = true;
        var runner = new StepRunner
        {
            Starting = s => log.Add($"journal {s.Name} started"),
            Finished = r => log.Add($"journal {r.Name} {r.Outcome}"),
        };
        await runner.RunAsync([Flag("a", log, () => a, () => a = true), Flag("b", log, () => b, () => { })]);

        Assert.Equal([
            "observe a", "journal a started", "apply a", "observe a", "journal a Done",
            "observe b", "journal b Unchanged",
        ], log);
    }

    [Fact]
    public async Task ATransientFailure_IsRetried_UntilTheApplySucceeds()
    {
        var calls = 0;
        var records = await new StepRunner().RunAsync([new Step("locked")
        {
            Retry = new RetryPolicy(e => e is TimeoutException) { Attempts = 5, InitialDelay = TimeSpan.Zero },
            Apply = _ => ++calls < 3 ? throw new TimeoutException("VM is locked") : Task.FromResult(Applied.Ok($"done after {calls} calls")),
        }]);

        Assert.Equal(StepOutcome.Done, records[0].Outcome);
        Assert.Equal(3, records[0].Attempts);
        Assert.Equal("done after 3 calls", records[0].Evidence);
    }

    [Fact]
    public async Task RetriesRunOut_IntoTheGiveUpError_AndOtherFailuresAreNotRetried()
    {
        var calls = 0;
        var retry = new RetryPolicy(e => e is TimeoutException)
        {
            Attempts = 2, InitialDelay = TimeSpan.Zero,
            GiveUp = (e, attempts, _) => new InvalidOperationException($"{e.Message} (still after {attempts} attempt(s))", e),
        };
        var records = await new StepRunner().RunAsync([
            new Step("locked") { Retry = retry, Apply = _ => { calls++; throw new TimeoutException("VM is locked"); } },
        ]);
        var other = await new StepRunner().RunAsync([
            new Step("broken") { Retry = retry, Apply = _ => { calls++; throw new FormatException("bad answer"); } },
        ]);

        Assert.Equal(StepOutcome.Failed, records[0].Outcome);
        Assert.Equal("VM is locked (still after 2 attempt(s))", records[0].Evidence);
        Assert.IsType<InvalidOperationException>(records[0].Error);
        Assert.Equal(2, records[0].Attempts);
        Assert.Equal(StepOutcome.Failed, other[0].Outcome);
        Assert.Equal(1, other[0].Attempts);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task AFailure_StopsLaterSteps_AndKeepsEarlierOnesRecorded()
    {
        var log = new List<string>();
        var finished = new List<StepRecord>();
        bool a = false, c = false;
        var runner = new StepRunner { Finished = finished.Add };
        var records = await runner.RunAsync([
            Flag("a", log, () => a, () => a = true),
            new Step("b") { Apply = _ => throw new IOException("connection lost") },
            Flag("c", log, () => c, () => c = true),
        ]);

        Assert.Equal([StepOutcome.Done, StepOutcome.Failed, StepOutcome.NotRun], records.Select(r => r.Outcome));
        Assert.Equal("connection lost", records[1].Evidence);
        Assert.IsType<IOException>(records[1].Error);
        Assert.Equal("an earlier step failed", records[2].Evidence);
        Assert.DoesNotContain("observe c", log);
        Assert.False(c);
        Assert.Equal(records, finished); // each reported as it ended, the earlier ones too
        Assert.Equal([1, 2, 3], records.Select(r => r.Order));
    }

    [Fact]
    public async Task Cancellation_IsNotAFailure_ItPropagates_AfterTheFinishedStepsWereReported()
    {
        using var cts = new CancellationTokenSource();
        var finished = new List<StepRecord>();
        var runner = new StepRunner { Finished = finished.Add };
        var steps = new[]
        {
            new Step("a") { Apply = _ => { cts.Cancel(); return Task.FromResult(Applied.Ok("done")); } },
            new Step("b") { Apply = ct => { ct.ThrowIfCancellationRequested(); return Task.FromResult(Applied.Ok("never")); } },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(steps, cts.Token));
        Assert.Equal(["a"], finished.Select(r => r.Name));
        Assert.Equal(StepOutcome.Done, finished[0].Outcome);
    }

    [Fact]
    public async Task Progress_ReportsEveryStep_WithItsOrder_InOrder()
    {
        var progress = new List<string>();
        var runner = new StepRunner { Finished = r => progress.Add($"{r.Order}/{3} {r.Name} {r.Outcome}") };
        await runner.RunAsync([
            new Step("x") { Observe = _ => Task.FromResult(Observation.Done("ok")) },
            new Step("y") { SkipReason = "not required" },
            new Step("z") { Apply = _ => Task.FromResult(Applied.Ok("ran")) },
        ]);

        Assert.Equal(["1/3 x Unchanged", "2/3 y Skipped", "3/3 z Done"], progress);
    }
}
