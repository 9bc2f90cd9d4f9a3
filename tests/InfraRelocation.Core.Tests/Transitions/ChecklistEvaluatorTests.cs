using System.Text.Json;
using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>The protocol's checklists evaluated from the receipts of the active relocation and the estate as it is.</summary>
public sealed class ChecklistEvaluatorTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly SampleCopy _estate = new();
    private int _run;

    public void Dispose() => _estate.Dispose();

    /// <summary>A receipt as the ledger stores it; its InputDigests are the estate's files as they are now.</summary>
    private string Receipt(string capability, string outcome, object? extra = null, string mode = "Read", string? changeId = SampleCopy.ChangeId, bool inputs = true)
    {
        var properties = new Dictionary<string, object?>
        {
            ["Capability"] = capability, ["Command"] = "test", ["RunId"] = $"run-{++_run}", ["Mode"] = mode, ["Outcome"] = outcome,
            ["EndedUtc"] = T0.AddMinutes(_run), ["InputDigests"] = inputs ? _estate.Load().InputDigests : new Dictionary<string, string>(),
        };
        if (changeId is not null)
        {
            properties["ChangeId"] = changeId;
        }
        if (extra is not null)
        {
            foreach (var p in JsonSerializer.SerializeToElement(extra).EnumerateObject())
            {
                properties[p.Name] = p.Value;
            }
        }
        return JsonSerializer.Serialize(properties);
    }

    private IReadOnlyList<ChecklistItem> Evaluate(LedgerView ledger, ChecklistPhase? phase = null) =>
        ChecklistEvaluator.Evaluate(_estate.Load(), ledger, phase is { } p ? [p] : null);

    private static ChecklistItem Item(IReadOnlyList<ChecklistItem> items, string id) => Assert.Single(items, i => i.Id == id);

    [Fact]
    public void WithoutReceiptsOnlyTheManifestItemIsDoneAndEveryOtherNamesTheCommandThatCompletesIt()
    {
        var items = Evaluate(LedgerView.Empty);
        Assert.Equal(["PRE.ManifestComplete", "PRE.ImpactReviewed", "PRE.PlacementPolicy", "PRE.HypervisorIdentity", "PRE.Preflight", "PRE.Parity",
                      "PRE.VmProvisioned", "PRE.VmBootstrapped", "PRE.VmReady", "PRE.StatePreflight", "PRE.BackupsVerified", "PRE.Approval",
                      "POST.SsotUpdated", "POST.HypervisorIdentity", "POST.Parity", "POST.Health", "POST.Gate",
                      "CLEAN.Decommissioned", "CLEAN.StateComplete", "CLEAN.OpenLoopClosed"], items.Select(i => i.Id));
        Assert.Equal(ChecklistItemState.Done, Item(items, "PRE.ManifestComplete").State);
        Assert.Contains("19 service(s) in phase(s) 1, 2, 3, 4", Item(items, "PRE.ManifestComplete").Evidence, StringComparison.Ordinal);
        Assert.All(items.Where(i => i.Id != "PRE.ManifestComplete"), i =>
        {
            Assert.Equal(ChecklistItemState.Missing, i.State);
            Assert.False(string.IsNullOrWhiteSpace(i.Command), i.Id);
        });
        Assert.Equal("Test-PlacementPolicy", Item(items, "PRE.PlacementPolicy").Command);
        // The manifest says preflight, but no receipt of this relocation set it: a hand edit or an old ledger.
        Assert.Contains("no Set-RelocationState receipt", Item(items, "PRE.StatePreflight").Evidence, StringComparison.Ordinal);
        Assert.Contains("has not entered cutover", Item(items, "POST.Parity").Evidence, StringComparison.Ordinal);
        Assert.All(items, i => Assert.Equal(SampleCopy.ChangeId, i.ChangeId));
        Assert.Equal(Enumerable.Range(1, 12), items.Where(i => i.Phase == ChecklistPhase.PreCutover).Select(i => i.Order));
    }

    [Fact]
    public void AReadCapabilitysLatestRunDecidesItsItemWithItsRunIdAndTime()
    {
        var passed = Receipt("infra.placement.policy", "Passed");
        var items = Evaluate(SampleCopy.Ledger(passed), ChecklistPhase.PreCutover);
        var placement = Item(items, "PRE.PlacementPolicy");
        Assert.Equal(ChecklistItemState.Done, placement.State);
        Assert.Equal("run-1", placement.RunId);
        Assert.Equal(T0.AddMinutes(1), placement.EvidenceUtc);
        Assert.Null(placement.Command);

        var failed = Receipt("infra.placement.policy", "Failed", new
        {
            Findings = new[] { new { RuleId = "D37.VmIdOutOfRange", Severity = "Error", Message = "VMID 999 is outside 200-299" } },
        });
        placement = Item(Evaluate(SampleCopy.Ledger(passed, failed), ChecklistPhase.PreCutover), "PRE.PlacementPolicy");
        Assert.Equal(ChecklistItemState.Failed, placement.State);
        Assert.Contains("D37.VmIdOutOfRange: VMID 999 is outside 200-299", placement.Evidence, StringComparison.Ordinal);
        Assert.Equal("Test-PlacementPolicy", placement.Command);

        // A preview is no evidence.
        var preview = Receipt("infra.relocation.parity", "Previewed", mode: "Preview");
        Assert.Equal(ChecklistItemState.Missing, Item(Evaluate(SampleCopy.Ledger(preview), ChecklistPhase.PreCutover), "PRE.Parity").State);
    }

    [Fact]
    public void EvidenceOfAnotherRelocationDoesNotCount()
    {
        var other = Receipt(LedgerView.PreflightCapability, "Passed", changeId: "CHG-OTHER");
        Assert.Equal(ChecklistItemState.Missing, Item(Evaluate(SampleCopy.Ledger(other), ChecklistPhase.PreCutover), "PRE.Preflight").State);
        // Receipts that name no change id count only after the last receipt of another relocation.
        var before = Receipt("infra.relocation.parity", "Passed", changeId: null);
        var archived = Receipt("infra.relocation.archive", "Succeeded", mode: "Execute", changeId: "CHG-OTHER");
        Assert.Equal(ChecklistItemState.Missing, Item(Evaluate(SampleCopy.Ledger(before, archived), ChecklistPhase.PreCutover), "PRE.Parity").State);
        var after = Receipt("infra.relocation.parity", "Passed", changeId: null);
        Assert.Equal(ChecklistItemState.Done, Item(Evaluate(SampleCopy.Ledger(before, archived, after), ChecklistPhase.PreCutover), "PRE.Parity").State);
    }

    [Fact]
    public void EvidenceCountsOnlyWhileTheFilesItReadHoldWhatItReadOrWhatReceiptedWritesMadeOfIt()
    {
        var parity = Receipt("infra.relocation.parity", "Passed");
        var oldDigest = _estate.Load().InputDigests[SampleCopy.Registry];
        File.AppendAllText(_estate.Full(SampleCopy.Registry), "# a hand edit\n");
        var item = Item(Evaluate(SampleCopy.Ledger(parity), ChecklistPhase.PreCutover), "PRE.Parity");
        Assert.Equal(ChecklistItemState.Missing, item.State);
        Assert.Contains($"read files that changed since: {SampleCopy.Registry}", item.Evidence, StringComparison.Ordinal);

        // The same change made by a receipted transition (its Files say old -> new digest) keeps the evidence current.
        var newDigest = _estate.Load().InputDigests[SampleCopy.Registry];
        var transition = Receipt(LedgerView.ServiceCapability, "Succeeded", new { Files = new[] { new { Path = SampleCopy.Registry, OldSha256 = oldDigest, NewSha256 = newDigest } } }, mode: "Execute");
        Assert.Equal(ChecklistItemState.Done, Item(Evaluate(SampleCopy.Ledger(parity, transition), ChecklistPhase.PreCutover), "PRE.Parity").State);
        // A blocked run wrote nothing: it does not carry the evidence forward.
        var blocked = Receipt(LedgerView.ServiceCapability, "Blocked", new { Files = new[] { new { Path = SampleCopy.Registry, OldSha256 = oldDigest, NewSha256 = newDigest } } }, mode: "Execute");
        Assert.Equal(ChecklistItemState.Missing, Item(Evaluate(SampleCopy.Ledger(parity, blocked), ChecklistPhase.PreCutover), "PRE.Parity").State);
    }

    [Fact]
    public void ReadinessMustPassAndBeNewerThanTheVmsLastProvisioningOrBootstrap()
    {
        var provisioned = Receipt("infra.vm.provision", "Succeeded", new { Target = "app-core" }, mode: "Execute");
        var ready = Receipt("infra.vm.ready.status", "Passed", new { Hostname = "app-core", IsReady = true });
        var items = Evaluate(SampleCopy.Ledger(provisioned, ready), ChecklistPhase.PreCutover);
        Assert.Contains("app-core: ready, run-2", Item(items, "PRE.VmReady").Evidence, StringComparison.Ordinal);
        Assert.Contains("app-core: run-1", Item(items, "PRE.VmProvisioned").Evidence, StringComparison.Ordinal);
        Assert.Contains("app-web: no receipt", Item(items, "PRE.VmProvisioned").Evidence, StringComparison.Ordinal);
        Assert.Equal("New-ProxmoxVm -Hostname app-web", Item(items, "PRE.VmProvisioned").Command);

        var bootstrapped = Receipt("infra.vm.bootstrap", "Succeeded", new { Hostname = "app-core" }, mode: "Execute");
        var vmReady = Item(Evaluate(SampleCopy.Ledger(provisioned, ready, bootstrapped), ChecklistPhase.PreCutover), "PRE.VmReady");
        Assert.Contains("app-core: run run-2", vmReady.Evidence, StringComparison.Ordinal);
        Assert.Contains("predates the VM's last change (run-3", vmReady.Evidence, StringComparison.Ordinal);
        Assert.Equal("Get-VmReadiness -Hostname app-core", vmReady.Command);

        var notReady = Receipt("infra.vm.ready.status", "Failed", new { Hostname = "app-core", Findings = new[] { new { RuleId = "READY.SshUnreachable", Severity = "Error", Message = "no answer" } } });
        vmReady = Item(Evaluate(SampleCopy.Ledger(provisioned, bootstrapped, notReady), ChecklistPhase.PreCutover), "PRE.VmReady");
        Assert.Equal(ChecklistItemState.Failed, vmReady.State);
        Assert.Contains("READY.SshUnreachable: no answer", vmReady.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void TheVmItemsCoverThePhaseBeingCutOverAndReadinessNeedsStatusReady()
    {
        // Phase 1 (wiki, pastebin, bookmarks, rss-reader to app-core; status-page to app-web) is the lowest unfinished phase.
        var (phase, targets) = ChecklistEvaluator.PhaseVmTargets(_estate.Load().Manifest!);
        Assert.Equal(1, phase);
        Assert.Equal(["app-core", "app-web"], targets.Select(v => v.Hostname));

        var text = _estate.Text(SampleCopy.Manifest);
        var at = text.IndexOf("hostname: \"app-web\"", StringComparison.Ordinal);
        var status = text.IndexOf("status: \"ready\"", at, StringComparison.Ordinal);
        File.WriteAllText(_estate.Full(SampleCopy.Manifest), text[..status] + "status: \"provisioned\"" + text[(status + "status: \"ready\"".Length)..]);
        var ready = Receipt("infra.vm.ready.status", "Passed", new { Hostname = "app-web", IsReady = true });
        var vmReady = Item(Evaluate(SampleCopy.Ledger(ready), ChecklistPhase.PreCutover), "PRE.VmReady");
        Assert.Equal(ChecklistItemState.Missing, vmReady.State);
        Assert.StartsWith("Phase 1: app-core: no readiness receipt; app-web: readiness run-", vmReady.Evidence, StringComparison.Ordinal);
        Assert.Contains("its status is provisioned, not ready", vmReady.Evidence, StringComparison.Ordinal);
        Assert.Equal("Get-VmReadiness -Hostname app-core", vmReady.Command);

        // Phase 1 finished: phase 2 (mon-core, app-web) is the one being cut over.
        foreach (var s in new[] { "wiki", "pastebin", "status-page" })
        {
            _estate.SetServiceStatus(s, "migrated");
        }
        foreach (var s in new[] { "bookmarks", "rss-reader" })
        {
            _estate.SetServiceStatus(s, "rolled-back");
        }
        (phase, targets) = ChecklistEvaluator.PhaseVmTargets(_estate.Load().Manifest!);
        Assert.Equal(2, phase);
        Assert.Equal(["app-web", "mon-core"], targets.Select(v => v.Hostname));
    }

    [Fact]
    public void ItemsAStateWasEnteredWithoutByOverrideShowAsOverriddenWhileTheRelocationIsPastIt()
    {
        _estate.SetState("cutover");
        var forced = Receipt(ChecklistEvaluator.StateCapability, "Succeeded", new
        {
            After = "cutover", OverrideReason = "CAB-118 accepted the risk",
            Findings = new[] { new { RuleId = ChecklistEvaluator.IncompleteRule, Severity = "Warning", Subject = "PRE.Parity", Message = "Overridden (-Force): …" } },
        }, mode: "Execute");
        var items = Evaluate(SampleCopy.Ledger(forced), ChecklistPhase.PreCutover);
        var parity = Item(items, "PRE.Parity");
        Assert.Equal(ChecklistItemState.Overridden, parity.State);
        Assert.StartsWith("Run run-1 at ", parity.Evidence, StringComparison.Ordinal);
        Assert.Contains("entered cutover without it by override (-Force): CAB-118 accepted the risk. Now: No infra.relocation.parity receipt", parity.Evidence, StringComparison.Ordinal);
        Assert.Equal("run-1", parity.RunId);
        Assert.Equal(ChecklistItemState.Missing, Item(items, "PRE.PlacementPolicy").State); // not named by the override

        // Stepped back to preflight: the override no longer holds.
        _estate.Replace(SampleCopy.Manifest, "state: \"cutover\"", "state: \"preflight\"");
        Assert.Equal(ChecklistItemState.Missing, Item(Evaluate(SampleCopy.Ledger(forced), ChecklistPhase.PreCutover), "PRE.Parity").State);
    }

    [Fact]
    public void EvidenceAppendedAfterTheLastChangeIsNamedNotYetAnchoredAndTheTransitionRecordsIt()
    {
        // The manifest's ledger_anchor names the last change's transaction (0a1b2c); receipts after its receipt are not anchored.
        _estate.Replace(SampleCopy.Manifest, "version: 1\n", "version: 1\nledger_anchor: tx 0a1b2c after start\n");
        _estate.Approve();
        var before = Receipt("infra.relocation.parity", "Passed");
        var change = Receipt(LedgerView.ServiceCapability, "Succeeded", new { TransactionId = "0a1b2c" }, mode: "Execute");
        var sealedParity = Item(Evaluate(SampleCopy.Ledger(before, change), ChecklistPhase.PreCutover), "PRE.Parity");
        Assert.Equal(ChecklistItemState.Done, sealedParity.State);
        Assert.False(sealedParity.Unanchored);
        Assert.DoesNotContain("anchored", sealedParity.Evidence, StringComparison.Ordinal);

        // A read-only run after the change (a real one, or a correctly linked forgery: hashes cannot tell) still counts,
        // and is named.
        var after = Receipt("infra.relocation.parity", "Passed");
        var ledger = SampleCopy.Ledger(before, change, after);
        var parity = Item(Evaluate(ledger, ChecklistPhase.PreCutover), "PRE.Parity");
        Assert.Equal(ChecklistItemState.Done, parity.State);
        Assert.Equal("run-3", parity.RunId);
        Assert.True(parity.Unanchored);
        Assert.EndsWith("Not yet anchored: appended after the last change (run run-2); the next change anchors it.", parity.Evidence, StringComparison.Ordinal);

        // The transition relying on it records it in its findings (Information, with the run), whatever else it decides.
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cutover) { ForceReason = "test" },
            new TransitionEnvironment { Now = T0.AddHours(1), Actor = "operator", Ledger = ledger });
        var named = Assert.Single(plan.Findings, f => f.RuleId == TransitionPlanner.UnanchoredEvidenceRule && f.Subject == "PRE.Parity");
        Assert.Equal(FindingSeverity.Information, named.Severity);
        Assert.Equal("run-3", named.Actual);
        Assert.StartsWith("Entering cutover relies on PRE.Parity (", named.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOverrideOfTheVmItemsStandsForThePhaseItCovered()
    {
        _estate.SetState("cutover");
        var vmItems = ChecklistEvaluator.VmItemIds.Select(id => new { RuleId = ChecklistEvaluator.IncompleteRule, Severity = "Warning", Subject = id, Expected = "Done for phase 1", Message = "Overridden (-Force): …" });
        var forced = Receipt(ChecklistEvaluator.StateCapability, "Succeeded", new { After = "cutover", OverrideReason = "CAB-118", Findings = vmItems }, mode: "Execute");
        Assert.Equal(ChecklistItemState.Overridden, Item(Evaluate(SampleCopy.Ledger(forced), ChecklistPhase.PreCutover), "PRE.VmReady").State);
        Assert.Equal(1, Item(Evaluate(SampleCopy.Ledger(forced), ChecklistPhase.PreCutover), "PRE.VmReady").VmPhase);
        // Phase 2 is not covered by it ...
        var unmet = ChecklistEvaluator.UnmetVmItems(_estate.Load(), SampleCopy.Ledger(forced), 2);
        Assert.Equal(ChecklistEvaluator.VmItemIds, unmet.Select(i => i.Id));
        Assert.All(unmet, i => Assert.Equal(ChecklistItemState.Missing, i.State));
        Assert.StartsWith("Phase 2: app-web: no readiness receipt", Item(unmet, "PRE.VmReady").Evidence, StringComparison.Ordinal);
        // ... until a service of phase 2 moves to cutover by override: then it is.
        var moved = Receipt(LedgerView.ServiceCapability, "Succeeded", new
        {
            Service = "prometheus", After = "cutover", OverrideReason = "CAB-9",
            Findings = ChecklistEvaluator.VmItemIds.Select(id => new { RuleId = ChecklistEvaluator.IncompleteRule, Severity = "Warning", Subject = id, Expected = "Done for phase 2", Message = "Overridden (-Force): …" }),
        }, mode: "Execute");
        Assert.Empty(ChecklistEvaluator.UnmetVmItems(_estate.Load(), SampleCopy.Ledger(forced, moved), 2));
        Assert.Equal(ChecklistEvaluator.VmItemIds, ChecklistEvaluator.UnmetVmItems(_estate.Load(), SampleCopy.Ledger(forced, moved), 3).Select(i => i.Id));
        // Once phase 1 is finished, the checklist's VM items are phase 2's, shown Overridden by that move.
        foreach (var s in new[] { "wiki", "pastebin", "status-page", "bookmarks", "rss-reader" })
        {
            _estate.SetServiceStatus(s, "migrated");
        }
        var ready = Item(Evaluate(SampleCopy.Ledger(forced, moved), ChecklistPhase.PreCutover), "PRE.VmReady");
        Assert.Equal(ChecklistItemState.Overridden, ready.State);
        Assert.Equal("run-2", ready.RunId);
        Assert.Contains("moved prometheus to cutover without it by override (-Force): CAB-9. Now: Phase 2: ", ready.Evidence, StringComparison.Ordinal);
        // Without that move, phase 1's override does not stand for phase 2.
        Assert.Equal(ChecklistItemState.Missing, Item(Evaluate(SampleCopy.Ledger(forced), ChecklistPhase.PreCutover), "PRE.VmReady").State);
    }

    [Fact]
    public void TheImpactReviewIsAConfirmationOfACurrentImpactRun()
    {
        Assert.Equal("ChecklistImpactNotRun", Assert.Throws<RelocationException>(() =>
            ChecklistEvaluator.PlanConfirmation(_estate.Load(), LedgerView.Empty, ChecklistConfirmation.ImpactReviewed)).ErrorId);
        var impact = Receipt("infra.relocation.impact", "Passed", changeId: null);
        var ledger = SampleCopy.Ledger(impact);
        Assert.Equal((SampleCopy.ChangeId, "run-1"), ChecklistEvaluator.PlanConfirmation(_estate.Load(), ledger, ChecklistConfirmation.ImpactReviewed));
        var item = Item(Evaluate(ledger, ChecklistPhase.PreCutover), "PRE.ImpactReviewed");
        Assert.Equal(ChecklistItemState.Missing, item.State);
        Assert.StartsWith("Confirm-RelocationChecklistItem -Item ImpactReviewed", item.Command, StringComparison.Ordinal);

        var review = Receipt(ChecklistEvaluator.ConfirmCapability, "Succeeded", new { Item = "ImpactReviewed", ConfirmedBy = "cab-chair", Evidence = "CAB-118", ReviewedRunId = "run-1" }, mode: "Execute");
        item = Item(Evaluate(SampleCopy.Ledger(impact, review), ChecklistPhase.PreCutover), "PRE.ImpactReviewed");
        Assert.Equal(ChecklistItemState.Done, item.State);
        Assert.Contains("Reviewed by cab-chair", item.Evidence, StringComparison.Ordinal);
        Assert.Contains("CAB-118", item.Evidence, StringComparison.Ordinal);

        // The post-cleanup confirmations wait for cleanup.
        Assert.Equal("ChecklistConfirmationTooEarly", Assert.Throws<RelocationException>(() =>
            ChecklistEvaluator.PlanConfirmation(_estate.Load(), ledger, ChecklistConfirmation.OpenLoopClosed)).ErrorId);
    }

    [Fact]
    public void AfterCutoverEveryMovedServiceNeedsAPromotionAndAForcedOneShowsOverridden()
    {
        _estate.SetState("cutover");
        _estate.SetServiceStatus("wiki", "migrated");
        _estate.SetServiceStatus("pastebin", "migrated");
        var entered = Receipt(ChecklistEvaluator.StateCapability, "Succeeded", new { After = "cutover" }, mode: "Execute");
        var parityBefore = Receipt("infra.relocation.parity", "Passed");
        var promoted = Receipt(LedgerView.PromotionCapability, "Succeeded", new { Service = "wiki", After = "migrated" }, mode: "Execute");
        var forced = Receipt(LedgerView.ServiceCapability, "Succeeded", new { Service = "pastebin", After = "migrated", OverrideReason = "no HTTP endpoint" }, mode: "Execute");
        var items = Evaluate(SampleCopy.Ledger(parityBefore, entered, promoted, forced), ChecklistPhase.PostCutover);
        // The parity run before cutover does not count after it.
        Assert.Equal(ChecklistItemState.Missing, Item(items, "POST.Parity").State);
        var health = Item(items, "POST.Health");
        Assert.Equal(ChecklistItemState.Missing, health.State); // the other services in shadow are not promoted
        Assert.Contains("wiki: run-3", health.Evidence, StringComparison.Ordinal);
        Assert.Contains("pastebin: promoted without probes by override (run-4", health.Evidence, StringComparison.Ordinal);
        Assert.Contains("no HTTP endpoint", health.Evidence, StringComparison.Ordinal);
        Assert.Equal("Invoke-RelocationPromotion -Service status-page", health.Command);

        foreach (var s in new[] { "status-page", "prometheus", "grafana", "web-portal", "identity-provider" })
        {
            _estate.SetServiceStatus(s, "planned");
        }
        Assert.Equal(ChecklistItemState.Overridden, Item(Evaluate(SampleCopy.Ledger(parityBefore, entered, promoted, forced), ChecklistPhase.PostCutover), "POST.Health").State);
    }

    [Fact]
    public void OnABrokenReceiptChainNoReceiptCounts()
    {
        var json = Receipt("infra.placement.policy", "Passed");
        using var doc = JsonDocument.Parse(json);
        var ledger = new LedgerView([new LedgerEntry(1, "infra.placement.policy", null, doc.RootElement.Clone()) { Hash = new string('0', 64) }]);
        var item = Item(Evaluate(ledger, ChecklistPhase.PreCutover), "PRE.PlacementPolicy");
        Assert.Equal(ChecklistItemState.Failed, item.State);
        Assert.Contains("chain is broken", item.Evidence, StringComparison.Ordinal);
        Assert.Equal("Test-RelocationReceiptChain", item.Command);
    }

    [Fact]
    public void WithoutAnActiveRelocationThereIsNoChecklist()
    {
        _estate.Replace(SampleCopy.Manifest, "active_relocation:\n", "active_relocation: null\nold_relocation:\n");
        Assert.Equal("NoActiveRelocation", Assert.Throws<RelocationException>(() => Evaluate(LedgerView.Empty)).ErrorId);
    }
}
