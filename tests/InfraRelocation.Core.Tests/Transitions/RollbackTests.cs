using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Rollback;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Gates;
using InfraRelocation.Model;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>
/// The rollback's Core: the move read back from real receipts, the plan (steps, commands, values to write back, bad
/// input refused before anything runs) and the estate steps of the executor (revert byte for byte, gates, incident
/// record, journal). The remote steps run on real Debian machines in tests/Pester/Rollback.Tests.ps1.
/// </summary>
public sealed class RollbackTests : IDisposable
{
    private readonly SampleCopy _estate = new();
    private readonly Dictionary<string, byte[]> _beforeMove = [];
    private readonly ReceiptStore _store;
    private static readonly string[] Ssots =
        [SampleCopy.Manifest, SampleCopy.Registry, "ops/governance/STACK_REGISTRY.yaml", "ops/bindings/services.health.yaml"];

    public RollbackTests()
    {
        _store = new ReceiptStore(_estate.Full("receipts"));
        _estate.SetState("cutover");
        _estate.Approve();
        _estate.Replace(SampleCopy.Registry, "    compose: /opt/stacks/bookmarks/docker-compose.yml\n",
            "    compose: /opt/stacks/bookmarks/docker-compose.yml\n    unit: ir-bookmarks.service\n    commands:\n" +
            "      verify_backup: \"tar -tf /var/backups/b.tar\"\n      restore: \"tar -xf /var/backups/b.tar -C /\"\n");
        foreach (var file in Ssots)
        {
            _beforeMove[file] = _estate.Bytes(file);
        }
    }

    public void Dispose() => _estate.Dispose();

    /// <summary>
    /// The move as the cmdlets make it: the operator's SSOT edits, then committed transitions with their receipts. The
    /// fixture's relocation is in cutover by a hand edit, with no VM evidence for phase 1: the move to cutover records an
    /// override with its reason, as an operator would have to.
    /// </summary>
    private void Move(params ServiceStatus[] statuses)
    {
        _estate.PrepareSsot("bookmarks");
        foreach (var status in statuses)
        {
            Func<Estate.EstateSnapshot, TransitionPlan> plan = e => TransitionPlanner.PlanService(e,
                new ServiceTransitionRequest("bookmarks", status)
                {
                    ViaPromotion = status == ServiceStatus.Migrated,
                    Force = status == ServiceStatus.Cutover, ForceReason = status == ServiceStatus.Cutover ? "test: phase 1's VM targets are not provisioned in this fixture" : null,
                },
                new TransitionEnvironment { Now = DateTimeOffset.UtcNow, Actor = "operator" });
            var preview = TransitionExecutor.Preview(_estate.Layout, plan);
            var run = TransitionExecutor.Commit(_estate.Layout, preview.Plan, plan, new TransitionCommitOptions
            {
                Receipts = _store,
                Receipt = r => new ServiceStatusReceipt
                {
                    Capability = status == ServiceStatus.Migrated ? LedgerView.PromotionCapability : LedgerView.ServiceCapability,
                    Mode = RunMode.Execute, Outcome = ReceiptOutcome.Succeeded, RunId = $"move-{status}", ChangeId = SampleCopy.ChangeId,
                    Service = "bookmarks", Subject = "bookmarks", Before = r.Plan.Before, After = r.Plan.After, Changes = r.Changes,
                    Files = r.Outcome!.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList(),
                    EndedUtc = DateTimeOffset.UtcNow,
                },
            });
            Assert.True(run.Committed, string.Join("; ", run.Plan.Findings));
        }
    }

    private LedgerView Ledger => LedgerView.Load(_store.LedgerPath);

    /// <summary>The file's text without the manifest's ledger_anchor line (every change, the rollback's too, rewrites it).</summary>
    private static string Unanchored(byte[] bytes) =>
        System.Text.RegularExpressions.Regex.Replace(System.Text.Encoding.UTF8.GetString(bytes), "(?m)^ledger_anchor:.*\n", "");

    private RollbackJournal Plan(string service = "bookmarks", string? force = null) =>
        RollbackPlanning.Plan(_estate.Load(), Ledger, new RollbackRequest(service, "health regression") { Actor = "oncall", ForceReason = force });

    private RollbackContext Context(Func<string, SshEndpoint>? endpoint = null) => new()
    {
        Layout = _estate.Layout, Receipts = _store, RunId = "rb-1", Stamp = r => r with { RunId = "rb-1", Actor = "oncall" },
        Endpoint = endpoint ?? (host => throw new RelocationException("SshTargetMissing", FailureKind.ObjectNotFound, $"no target {host}")),
        RoutingConfirmed = true,
    };

    /// <summary>The plan with its remote steps marked finished (they ran on the machines): the executor resumes at the estate steps.</summary>
    private static RollbackJournal RemoteDone(RollbackJournal journal) =>
        journal with { Steps = journal.Steps.Select(s => s.Remote ? s with { State = BootstrapStepState.Done, Evidence = "ran" } : s).ToList() };

    [Fact]
    public void TheMoveIsReadBackFromItsReceipts()
    {
        Move(ServiceStatus.Cutover, ServiceStatus.Migrated);
        var move = MoveRecord.Read(Ledger, SampleCopy.ChangeId, "bookmarks")!;
        Assert.Equal(["move-Cutover", "move-Migrated"], move.RunIds);
        var status = Assert.Single(move.Changes, c => c.Path.EndsWith(".status", StringComparison.Ordinal));
        Assert.Equal(("planned", "migrated"), (status.Before, status.After));
        var host = Assert.Single(move.Changes, c => c.File == SampleCopy.Registry);
        Assert.Equal(("legacy-docker", "app-core"), (host.Before, host.After));
        Assert.Equal(InputDigestsOf(SampleCopy.Registry, _beforeMove), move.DigestsBefore[SampleCopy.Registry]);
    }

    private static string InputDigestsOf(string file, Dictionary<string, byte[]> bytes) => Digest.Sha256Hex(bytes[file]);

    [Fact]
    public void ThePlanFollowsTheProtocolWithTheEstatesCommands()
    {
        Move(ServiceStatus.Cutover);
        var journal = Plan();
        Assert.Equal(["reach", "stop", "verify-backup", "restore", "start", "route", "revert", "gates", "document"], journal.Steps.Select(s => s.Name));
        var stop = journal.Steps.Single(s => s.Name == "stop");
        Assert.Equal(("app-core", "systemctl stop 'ir-bookmarks.service'"), (stop.Host, stop.Run));
        Assert.Equal("! { systemctl is-active --quiet 'ir-bookmarks.service'; }", stop.Check);
        var start = journal.Steps.Single(s => s.Name == "start");
        Assert.Equal(("legacy-docker", "systemctl start 'ir-bookmarks.service'"), (start.Host, start.Run));
        Assert.Contains("tar -xf /var/backups/b.tar -C /", journal.Steps.Single(s => s.Name == "restore").Run);
        Assert.False(journal.Steps.Single(s => s.Name == "route").Remote); // no commands.route: a manual step
        Assert.Equal("planned", journal.StatusBeforeMove);
        // From the receipts: status, updated_at, the registry host; from the plan: the surfaces edited by hand.
        Assert.Contains(journal.Reverts, r => r.File == SampleCopy.Registry && r.Value == "legacy-docker" && r.Source.StartsWith("receipt", StringComparison.Ordinal));
        Assert.Contains(journal.Reverts, r => r.File == "ops/governance/STACK_REGISTRY.yaml" && r.Value == "host:legacy-docker");
        Assert.Contains(journal.Reverts, r => r.File == "ops/bindings/services.health.yaml" && r.Value == "legacy-docker");
        Assert.Contains(journal.Reverts, r => r.Path == TransitionPlanner.UpdatedAtPath && r.Value == "2026-11-20T16:40:00Z");
    }

    [Fact]
    public async Task TheEstateStepsRestoreEverySsotByteForByteAndRecordTheIncident()
    {
        Move(ServiceStatus.Cutover, ServiceStatus.Migrated);
        var run = await new RollbackExecutor(new SshSessionPool(), Context()).RunAsync(RemoteDone(Plan()));
        Assert.True(run.Completed, run.Failed?.Evidence);
        foreach (var file in Ssots)
        {
            Assert.Equal(Unanchored(_beforeMove[file]), Unanchored(_estate.Bytes(file)));
        }
        Assert.All(run.Journal.ByteIdentity.Where(l => l.StartsWith(SampleCopy.Registry, StringComparison.Ordinal)), l => Assert.Contains("byte-identical", l));
        Assert.Equal(BootstrapStepState.Done, run.Journal.Steps.Single(s => s.Name == "gates").State);
        var incident = _estate.Text(run.Journal.IncidentPath);
        Assert.Contains("Who: oncall", incident);
        Assert.Contains("Why: health regression", incident);
        Assert.Contains("| revert | estate | Done |", incident);
        Assert.False(File.Exists(_estate.Full(RollbackJournal.RelativePath("bookmarks"))));
        var receipts = _store.ReadAll().OfType<RollbackReceipt>().ToList();
        Assert.Equal(2, receipts.Count); // the revert (inside its transaction) and the incident (inside its transaction)
        Assert.Contains(receipts[0].Changes, c => c.File == SampleCopy.Registry && c.After == "legacy-docker");
        Assert.Equal(run.Journal.IncidentPath, receipts[1].IncidentRecord);
        // The finished rollback ends the move: the service is planned again and nothing is left to roll back.
        Assert.Null(MoveRecord.Read(Ledger, SampleCopy.ChangeId, "bookmarks"));
        Assert.Equal("RollbackNothingMoved", Assert.Throws<RelocationException>(() => Plan()).ErrorId);
    }

    [Fact]
    public async Task AFailingStepStopsTheRunKeepsTheJournalAndTheNextRunResumesThere()
    {
        Move(ServiceStatus.Cutover);
        var moved = Ssots.ToDictionary(f => f, _estate.Bytes);
        var journal = Plan();
        var run = await new RollbackExecutor(new SshSessionPool(), Context()).RunAsync(journal);
        Assert.False(run.Completed);
        Assert.Equal("reach", run.Failed!.Name);
        Assert.Contains("SshTargetMissing", run.Failed.Evidence);
        Assert.All(run.Journal.Steps.Skip(1), s => Assert.Equal(BootstrapStepState.Planned, s.State));
        Assert.All(Ssots, f => Assert.Equal(Unanchored(moved[f]), Unanchored(_estate.Bytes(f))));
        var saved = RollbackJournal.Load(_estate.Layout, "bookmarks")!;
        Assert.Equal(BootstrapStepState.Failed, saved.Steps[0].State);

        // The remote steps are done (as on the machines); routing not confirmed: stops at route, nothing written.
        var unconfirmed = await new RollbackExecutor(new SshSessionPool(), Context() with { RoutingConfirmed = false }).RunAsync(RemoteDone(saved));
        Assert.Equal("route", unconfirmed.Failed!.Name);
        Assert.All(Ssots, f => Assert.Equal(Unanchored(moved[f]), Unanchored(_estate.Bytes(f))));

        var resumed = await new RollbackExecutor(new SshSessionPool(), Context()).RunAsync(RollbackJournal.Load(_estate.Layout, "bookmarks")!);
        Assert.True(resumed.Completed);
        Assert.Equal(3, resumed.Journal.Runs.Count);
        Assert.All(Ssots, f => Assert.Equal(Unanchored(_beforeMove[f]), Unanchored(_estate.Bytes(f))));
    }

    [Fact]
    public async Task CtrlCWhileTheRevertWaitsForTheLeaseLeavesItStartedAndTheNextRunRevertsOnce()
    {
        Move(ServiceStatus.Cutover);
        var moved = Ssots.ToDictionary(f => f, _estate.Bytes);
        using var cancel = new CancellationTokenSource();
        Task<RollbackRun> run;
        using (EstateLease.Acquire(_estate.Layout.Root, "another change", TimeSpan.Zero))
        {
            // The runner journals the revert as started, then the revert waits for the lease this test holds.
            run = Task.Run(() => new RollbackExecutor(new SshSessionPool(), Context() with { LeaseWait = TimeSpan.FromMinutes(10) }).RunAsync(RemoteDone(Plan()), cancel.Token));
            while (RollbackJournal.Load(_estate.Layout, "bookmarks")?.Steps.Single(s => s.Name == "revert").StartedUtc is null)
            {
                Assert.False(run.IsCompleted, run.IsFaulted ? run.Exception!.ToString() : "the run ended before its revert started");
                await Task.Delay(20);
            }
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run); // a lease wait that ignored Ctrl+C would end Failed after 10 min
        }
        var left = RollbackJournal.Load(_estate.Layout, "bookmarks")!;
        Assert.Equal(BootstrapStepState.Done, left.Steps.Single(s => s.Name == "route").State);
        Assert.Equal((BootstrapStepState.Planned, true), (left.Steps.Single(s => s.Name == "revert").State, left.Steps.Single(s => s.Name == "revert").EndedUtc is null));
        Assert.All(Ssots, f => Assert.Equal(Unanchored(moved[f]), Unanchored(_estate.Bytes(f))));
        Assert.Empty(_store.ReadAll().OfType<RollbackReceipt>());

        var resumed = await new RollbackExecutor(new SshSessionPool(), Context()).RunAsync(left);
        Assert.True(resumed.Completed, resumed.Failed?.Evidence);
        Assert.Equal(2, resumed.Journal.Runs.Count);
        Assert.Equal(BootstrapStepState.Done, resumed.Journal.Steps.Single(s => s.Name == "revert").State);
        Assert.Equal(2, _store.ReadAll().OfType<RollbackReceipt>().Count()); // one revert, one incident record
    }

    [Fact]
    public async Task ARevertThatAlreadyLandedIsNotWrittenTwice()
    {
        Move(ServiceStatus.Cutover);
        var journal = RemoteDone(Plan());
        // A crash after the revert's commit and before the journal said so: the values already hold.
        var first = await new RollbackExecutor(new SshSessionPool(), Context()).RunAsync(journal with
        {
            Steps = journal.Steps.Select(s => s.Name is "gates" or "document" ? s with { State = BootstrapStepState.Skipped } : s).ToList(),
        });
        Assert.True(first.Completed);
        var again = await new RollbackExecutor(new SshSessionPool(), Context()).RunAsync(journal);
        Assert.Equal(BootstrapStepState.Unchanged, again.Journal.Steps.Single(s => s.Name == "revert").State);
        Assert.All(Ssots, f => Assert.Equal(Unanchored(_beforeMove[f]), Unanchored(_estate.Bytes(f))));
    }

    [Fact]
    public void BadInputIsRefusedBeforeAnythingRuns()
    {
        Assert.Equal("RollbackNothingMoved", Assert.Throws<RelocationException>(() => Plan()).ErrorId);
        Assert.Equal("ServiceNotFound", Assert.Throws<RelocationException>(() => Plan("no-such")).ErrorId);

        // Moved by hand: no receipt says what changed.
        _estate.SetServiceStatus("bookmarks", "cutover");
        Assert.Equal("RollbackMoveNotRecorded", Assert.Throws<RelocationException>(() => Plan()).ErrorId);
    }

    [Fact]
    public void MissingRollbackTargetCommandsOrAConflictingValueIsOneClearError()
    {
        Move(ServiceStatus.Cutover);
        var text = _estate.Text(SampleCopy.Manifest);
        var bookmarks = text.IndexOf("- service: \"bookmarks\"", StringComparison.Ordinal);
        var at = text.IndexOf("rollback_to: \"legacy-docker\"", bookmarks, StringComparison.Ordinal);
        File.WriteAllText(_estate.Full(SampleCopy.Manifest), text[..at] + "rollback_to: null          " + text[(at + "rollback_to: \"legacy-docker\"".Length)..]);
        var missing = Assert.Throws<RelocationException>(() => Plan());
        Assert.Equal("RollbackTargetMissing", missing.ErrorId);
        File.WriteAllText(_estate.Full(SampleCopy.Manifest), text);

        _estate.Replace(SampleCopy.Registry, "    unit: ir-bookmarks.service\n", "");
        _estate.Replace(SampleCopy.Registry, "    compose: /opt/stacks/bookmarks/docker-compose.yml\n", "");
        Assert.Equal("RollbackCommandsMissing", Assert.Throws<RelocationException>(() => Plan()).ErrorId);

        _estate.Replace(SampleCopy.Registry, "    container: bookmarks\n", "    container: bookmarks\n    unit: ir-bookmarks.service\n");
        _estate.Replace(SampleCopy.Registry, "      restore: \"tar -xf /var/backups/b.tar -C /\"\n", "");
        Assert.Equal("RollbackRestoreCommandMissing", Assert.Throws<RelocationException>(() => Plan()).ErrorId);

        _estate.Replace(SampleCopy.Registry, "      verify_backup:", "      restore: \"x\"\n      verify_backup:");
        _estate.Replace(SampleCopy.Registry, "  bookmarks:\n    host: app-core", "  bookmarks:\n    host: db-main");
        var conflict = Assert.Throws<RelocationException>(() => Plan());
        Assert.Equal("RollbackRevertConflict", conflict.ErrorId);
        Assert.Contains("is 'db-main', but the move wrote 'app-core'", conflict.Message);
    }

    [Fact]
    public void OutsideTheRollbackWindowNeedsForce()
    {
        Move(ServiceStatus.Cutover);
        var late = new RollbackRequest("bookmarks", "late") { Now = DateTimeOffset.UtcNow.AddHours(49) };
        var refused = Assert.Throws<RelocationException>(() => RollbackPlanning.Plan(_estate.Load(), Ledger, late));
        Assert.Equal("RollbackWindowExpired", refused.ErrorId);
        Assert.Contains("outside the 48 h rollback window", refused.Message);
        var forced = RollbackPlanning.Plan(_estate.Load(), Ledger, late with { ForceReason = "customer data at risk" });
        Assert.Contains(forced.Notes, n => n.Contains("Rolled back anyway (-Force): customer data at risk", StringComparison.Ordinal));
    }

    [Fact]
    public void OnResumeUnfinishedRemoteStepsTakeTheRegistrysCommandsAsTheyAreNow()
    {
        Move(ServiceStatus.Cutover);
        var journal = Plan();
        journal = journal with { Steps = journal.Steps.Select(s => s.Name == "reach" ? s with { State = BootstrapStepState.Unchanged } : s).ToList() };
        _estate.Replace(SampleCopy.Registry, "    commands:\n", "    commands:\n      stop: \"/opt/bookmarks/stop --now\"\n");
        var fresh = RollbackPlanning.Refresh(_estate.Load(), journal);
        Assert.Equal("/opt/bookmarks/stop --now", fresh.Steps.Single(s => s.Name == "stop").Run);
        Assert.Equal(journal.Steps.Single(s => s.Name == "reach"), fresh.Steps.Single(s => s.Name == "reach"));
        Assert.Equal(journal.Reverts, fresh.Reverts);

        _estate.Replace(SampleCopy.Registry, "    unit: ir-bookmarks.service\n", "");
        _estate.Replace(SampleCopy.Registry, "    compose: /opt/stacks/bookmarks/docker-compose.yml\n", "");
        Assert.Equal("RollbackCommandsMissing", Assert.Throws<RelocationException>(() => RollbackPlanning.Refresh(_estate.Load(), journal)).ErrorId);
    }

    [Fact]
    public void ServiceControlComesFromCommandsThenUnitThenCompose()
    {
        Assert.Null(ServiceControl.For(new RegisteredService { Name = "x" }));
        Assert.Equal("docker compose -f '/opt/x.yml' down", ServiceControl.For(new RegisteredService { Compose = "/opt/x.yml" })!.Stop);
        var unit = ServiceControl.For(new RegisteredService { Compose = "/opt/x.yml", Unit = "x.service" })!;
        Assert.Equal(("systemctl stop 'x.service'", "unit"), (unit.Stop, unit.Source));
        var custom = ServiceControl.For(new RegisteredService { Unit = "x.service", Commands = new ServiceCommands { Start = "/opt/x/start" } })!;
        Assert.Equal(("systemctl stop 'x.service'", "/opt/x/start", "commands"), (custom.Stop, custom.Start, custom.Source));
    }
}
