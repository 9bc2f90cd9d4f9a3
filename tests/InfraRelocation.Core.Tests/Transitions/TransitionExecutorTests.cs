using System.Text;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Transitions;

public sealed class TransitionExecutorTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly SampleCopy _estate = new();

    public TransitionExecutorTests()
    {
        // These tests are about the transaction; the moved services' SSOT files agree, so the mutation guard passes.
        _estate.PrepareSsot("bookmarks");
        _estate.PrepareSsot("rss-reader");
    }

    public void Dispose() => _estate.Dispose();

    private static readonly TransitionEnvironment Env = new() { Now = Now, Actor = "operator" };

    private static Func<Estate.EstateSnapshot, TransitionPlan> Service(string name, ServiceStatus status) =>
        e => TransitionPlanner.PlanService(e, new ServiceTransitionRequest(name, status), Env);

    /// <summary>Lines that differ between two files of the same line count (the editor never adds or removes lines for a value edit).</summary>
    private static List<(int Line, string Before, string After)> ChangedLines(byte[] before, byte[] after)
    {
        var a = Encoding.UTF8.GetString(before).Split('\n');
        var b = Encoding.UTF8.GetString(after).Split('\n');
        Assert.Equal(a.Length, b.Length);
        return a.Select((line, i) => (i + 1, line, b[i])).Where(t => t.line != t.Item3).Select(t => (t.Item1, t.line, t.Item3)).ToList();
    }

    [Fact]
    public void PreviewWritesNothingAndShowsTheDiff()
    {
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var registry = _estate.Bytes(SampleCopy.Registry);
        var run = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow));
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
        Assert.Equal(registry, _estate.Bytes(SampleCopy.Registry));
        Assert.Contains("-    status: \"planned\"\n+    status: \"shadow\"", run.Diff);
        Assert.Contains("-    host: legacy-docker\n+    host: app-core", run.Diff);
        Assert.False(Directory.Exists(_estate.Full(".infra-relocation/journal")) && Directory.EnumerateFiles(_estate.Full(".infra-relocation/journal")).Any());
        Assert.Contains(SampleCopy.Manifest, run.InputDigests.Keys);
    }

    [Fact]
    public void CommitChangesOnlyTheBytesOfTheEditedValues()
    {
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var registry = _estate.Bytes(SampleCopy.Registry);
        var plan = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        var run = TransitionExecutor.Commit(_estate.Layout, plan, Service("bookmarks", ServiceStatus.Shadow));
        Assert.True(run.Committed);
        Assert.Equal([SampleCopy.Manifest, SampleCopy.Registry], run.Outcome!.Files.Select(f => f.Path));

        Assert.Equal(
            [(16, "  updated_at: \"2026-11-20T16:40:00Z\"", "  updated_at: \"2026-11-26T12:00:00Z\""),
             (140, "    status: \"planned\"", "    status: \"shadow\"")],
            ChangedLines(manifest, _estate.Bytes(SampleCopy.Manifest)));
        Assert.Equal([(24, "    host: legacy-docker", "    host: app-core")], ChangedLines(registry, _estate.Bytes(SampleCopy.Registry)));
        Assert.Equal(manifest.Length + "shadow".Length - "planned".Length, _estate.Bytes(SampleCopy.Manifest).Length);
    }

    [Fact]
    public void CrLfCommentsAndQuotingSurviveAStateTransition()
    {
        var text = _estate.Text(SampleCopy.Manifest).Replace("\n", "\r\n", StringComparison.Ordinal);
        File.WriteAllText(_estate.Full(SampleCopy.Manifest), text);
        var before = _estate.Bytes(SampleCopy.Manifest);
        Func<Estate.EstateSnapshot, TransitionPlan> planner = e => TransitionPlanner.PlanState(e, new StateTransitionRequest(RelocationState.Planning) { Rollback = true }, Env);
        foreach (var s in _estate.Load().Manifest!.Services.Where(s => s.Status != ServiceStatus.Planned).Select(s => s.Service))
        {
            // put every service back to planned by hand, keeping CRLF
            var lines = _estate.Text(SampleCopy.Manifest).Split("\r\n").ToList();
            var start = lines.FindIndex(l => l.Trim() == $"- service: \"{s}\"");
            var at = lines.FindIndex(start, l => l.TrimStart().StartsWith("status:", StringComparison.Ordinal));
            lines[at] = "    status: \"planned\"";
            File.WriteAllText(_estate.Full(SampleCopy.Manifest), string.Join("\r\n", lines));
        }
        before = _estate.Bytes(SampleCopy.Manifest);
        var plan = TransitionExecutor.Preview(_estate.Layout, planner).Plan;
        Assert.False(plan.Blocked, string.Join("\n", plan.Findings));
        TransitionExecutor.Commit(_estate.Layout, plan, planner);
        var after = Encoding.UTF8.GetString(_estate.Bytes(SampleCopy.Manifest));
        var expected = Encoding.UTF8.GetString(before)
            .Replace("  state: \"preflight\"\r\n", "  state: \"planning\"\r\n", StringComparison.Ordinal)
            .Replace("  updated_at: \"2026-11-20T16:40:00Z\"\r\n", "  updated_at: \"2026-11-26T12:00:00Z\"\r\n", StringComparison.Ordinal);
        Assert.Equal(expected, after);
    }

    [Fact]
    public void ASecondWriterOfTheSameServiceIsRefusedAndWritesNothing()
    {
        var first = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        var second = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        TransitionExecutor.Commit(_estate.Layout, first, Service("bookmarks", ServiceStatus.Shadow));
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var ex = Assert.Throws<RelocationException>(() => TransitionExecutor.Commit(_estate.Layout, second, Service("bookmarks", ServiceStatus.Shadow)));
        Assert.Equal("EstateValueChanged", ex.ErrorId);
        Assert.Contains("expected 'planned'", ex.Message);
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
    }

    [Fact]
    public void WritersOfDifferentServicesBothLand()
    {
        var a = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        var b = TransitionExecutor.Preview(_estate.Layout, Service("rss-reader", ServiceStatus.Shadow)).Plan;
        TransitionExecutor.Commit(_estate.Layout, a, Service("bookmarks", ServiceStatus.Shadow));
        TransitionExecutor.Commit(_estate.Layout, b, Service("rss-reader", ServiceStatus.Shadow));
        var services = _estate.Load().Manifest!.Services;
        Assert.Equal(ServiceStatus.Shadow, services.Single(s => s.Service == "bookmarks").Status);
        Assert.Equal(ServiceStatus.Shadow, services.Single(s => s.Service == "rss-reader").Status);
    }

    [Fact]
    public void AFileChangedWhileDecidingStopsTheCommitNamingIt()
    {
        var plan = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var ex = Assert.Throws<RelocationException>(() => TransitionExecutor.Commit(_estate.Layout, plan, e =>
        {
            File.AppendAllText(_estate.Full("ops/bindings/ssh.targets.yaml"), "# hand edit\n");
            return Service("bookmarks", ServiceStatus.Shadow)(e);
        }));
        Assert.Equal("EstateFileChanged", ex.ErrorId);
        Assert.Contains("ops/bindings/ssh.targets.yaml", ex.Message);
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
    }

    [Fact]
    public void GuardsRunAgainUnderTheLease()
    {
        var plan = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        _estate.Replace(SampleCopy.Manifest, "state: \"preflight\"", "state: \"planning\"");
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var run = TransitionExecutor.Commit(_estate.Layout, plan, Service("bookmarks", ServiceStatus.Shadow));
        Assert.True(run.Plan.Blocked);
        Assert.False(run.Committed);
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
    }

    [Fact]
    public void AfterCommitFailureRevertsEveryFileToItsOriginalBytes()
    {
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var registry = _estate.Bytes(SampleCopy.Registry);
        var plan = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        Estate.EstateSnapshot? seen = null;
        var run = TransitionExecutor.Commit(_estate.Layout, plan, Service("bookmarks", ServiceStatus.Shadow),
            new TransitionCommitOptions { AfterCommit = e => { seen = e; return "parity failed"; } });
        Assert.Equal(ServiceStatus.Shadow, seen!.Manifest!.Services.Single(s => s.Service == "bookmarks").Status); // ran on the written files
        Assert.True(run.Reverted);
        Assert.Equal("parity failed", run.RevertReason);
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
        Assert.Equal(registry, _estate.Bytes(SampleCopy.Registry));
        Assert.Empty(EstateTransaction.PendingJournals(_estate.Root));
        Assert.Null(EstateLease.Inspect(_estate.Root));
    }

    [Fact]
    public void UpdatedAtIsStampedAtCommitTimeWhenAsked()
    {
        var plan = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        var later = Now.AddMinutes(7);
        var run = TransitionExecutor.Commit(_estate.Layout, plan, Service("bookmarks", ServiceStatus.Shadow), new TransitionCommitOptions { Now = later });
        Assert.Contains(run.Changes, c => c.Path == TransitionPlanner.UpdatedAtPath && c.After == "2026-11-26T12:07:00Z");
        Assert.Equal("2026-11-26T12:07:00Z", _estate.Load().Manifest!.ActiveRelocation!.UpdatedAt);
    }

    [Fact]
    public void NoOpWritesNothing()
    {
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var plan = TransitionExecutor.Preview(_estate.Layout, Service("wiki", ServiceStatus.Shadow)).Plan;
        Assert.True(plan.NoOp);
        var run = TransitionExecutor.Commit(_estate.Layout, plan, Service("wiki", ServiceStatus.Shadow));
        Assert.False(run.Committed);
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
    }

    [Fact]
    public void AStaleLeaseIsTakenOverAndReported()
    {
        Directory.CreateDirectory(_estate.Full(".infra-relocation"));
        // A lease of a process that no longer exists on this machine.
        File.WriteAllText(_estate.Full(EstateLease.RelativePath),
            $$"""{"Owner":"ghost","Pid":999999,"ProcessStartUtc":"2020-01-01T00:00:00Z","Machine":"{{Environment.MachineName}}","AcquiredUtc":"2020-01-01T00:00:00Z","RenewedUtc":"2020-01-01T00:00:00Z","Purpose":"crashed","Token":"t"}""");
        var plan = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow)).Plan;
        var run = TransitionExecutor.Commit(_estate.Layout, plan, Service("bookmarks", ServiceStatus.Shadow), new TransitionCommitOptions { LeaseWait = TimeSpan.FromSeconds(5) });
        Assert.True(run.Committed);
        Assert.Equal("ghost", Assert.Single(run.Takeovers).Previous?.Owner);
    }
}
