using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Transitions;

public sealed class TransitionPlannerTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly SampleCopy _estate = new();

    public void Dispose() => _estate.Dispose();

    private static TransitionEnvironment Env(LedgerView? ledger = null, string actor = "operator") =>
        new() { Now = Now, Actor = actor, Ledger = ledger ?? LedgerView.Empty };

    private static LedgerView FreshEvidence() => SampleCopy.Ledger(SampleCopy.Preflight(SampleCopy.ChangeId, Now.AddHours(-1)));

    /// <summary>The blocking rules other than the checklist guard's (its own tests below look at it).</summary>
    private static IEnumerable<string> Rules(TransitionPlan plan) =>
        plan.Findings.Where(f => f.Severity == FindingSeverity.Error && f.RuleId != ChecklistEvaluator.IncompleteRule).Select(f => f.RuleId);

    private static bool BlockedByOtherGuards(TransitionPlan plan) => Rules(plan).Any();

    // ------------------------------------------------------------------------------------------ relocation state

    [Fact]
    public void SkippingAStateNamesTheAllowedNextState()
    {
        var ex = Assert.Throws<RelocationException>(() =>
            TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cleanup), Env()));
        Assert.Equal("RelocationStateTransitionNotAllowed", ex.ErrorId);
        Assert.Contains("Allowed next state(s) from preflight: cutover", ex.Message);
        Assert.Equal(new SourceLocation(SampleCopy.Manifest, 13, 10), ex.Location);
    }

    [Fact]
    public void SteppingBackNeedsRollback()
    {
        var ex = Assert.Throws<RelocationException>(() =>
            TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Planning), Env()));
        Assert.Contains("-Rollback", ex.Message);
    }

    [Fact]
    public void RollbackToPlanningIsBlockedWhileServicesAreInShadow()
    {
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Planning) { Rollback = true }, Env());
        Assert.Equal(["TRANSITION.ServicesPastState"], Rules(plan));
        Assert.Contains("wiki (shadow)", plan.Findings[0].Message);
    }

    [Fact]
    public void RollbackToPlanningWhenEveryServiceIsPlanned()
    {
        foreach (var s in _estate.Load().Manifest!.Services.Where(s => s.Status != ServiceStatus.Planned))
        {
            _estate.SetServiceStatus(s.Service, "planned");
        }
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Planning) { Rollback = true }, Env());
        Assert.False(plan.Blocked);
        Assert.Equal("planning", plan.Edits[0].Edit.Value);
        Assert.Equal("preflight", plan.Edits[0].Edit.Expected);
    }

    [Fact]
    public void SameStateIsANoOp()
    {
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Preflight), Env());
        Assert.True(plan.NoOp);
        Assert.False(plan.Blocked);
    }

    [Fact]
    public void CutoverNeedsApproval()
    {
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cutover), Env(FreshEvidence()));
        Assert.Equal(["TRANSITION.ApprovalMissing"], Rules(plan));
    }

    [Fact]
    public void CutoverWithApprovalAndFreshEvidenceWritesStateApprovalAndTimestamp()
    {
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cutover) { ApprovedBy = "cab-chair" }, Env(FreshEvidence()));
        Assert.False(BlockedByOtherGuards(plan), string.Join("\n", plan.Findings));
        Assert.Equal(
            [("active_relocation.state", "cutover", "preflight"), ("active_relocation.approved_by", "cab-chair", YamlEdit.ExpectAbsent),
             ("active_relocation.updated_at", "2026-11-26T12:00:00Z", null)],
            plan.Edits.Select(e => (e.Edit.Path, e.Edit.Value, e.Edit.Expected)));
    }

    [Theory]
    [InlineData("operator")]
    [InlineData("mkoenig")]   // the owner, written @mkoenig in the manifest
    [InlineData("@MKoenig")]
    public void SelfApprovalIsRefusedUnlessAllowed(string approver)
    {
        var request = new StateTransitionRequest(RelocationState.Cutover) { ApprovedBy = approver };
        Assert.Equal(["TRANSITION.SelfApproval"], Rules(TransitionPlanner.PlanState(_estate.Load(), request, Env(FreshEvidence()))));
        var allowed = TransitionPlanner.PlanState(_estate.Load(), request with { AllowSelfApproval = true }, Env(FreshEvidence()));
        Assert.False(BlockedByOtherGuards(allowed));
        Assert.Single(allowed.Overrides);
    }

    [Fact]
    public void CutoverNeedsPreflightEvidence()
    {
        var request = new StateTransitionRequest(RelocationState.Cutover) { ApprovedBy = "cab-chair" };
        Assert.Equal(["TRANSITION.PreflightEvidenceMissing"], Rules(TransitionPlanner.PlanState(_estate.Load(), request, Env())));

        var otherChange = SampleCopy.Ledger(SampleCopy.Preflight("CHG-OTHER", Now.AddHours(-1)));
        Assert.Equal(["TRANSITION.PreflightEvidenceMissing"], Rules(TransitionPlanner.PlanState(_estate.Load(), request, Env(otherChange))));

        var failed = SampleCopy.Ledger(SampleCopy.Preflight(SampleCopy.ChangeId, Now.AddHours(-1), outcome: "Failed"));
        Assert.Equal(["TRANSITION.PreflightEvidenceMissing"], Rules(TransitionPlanner.PlanState(_estate.Load(), request, Env(failed))));

        var stale = SampleCopy.Ledger(SampleCopy.Preflight(SampleCopy.ChangeId, Now.AddHours(-49)));
        Assert.Equal(["TRANSITION.PreflightEvidenceStale"], Rules(TransitionPlanner.PlanState(_estate.Load(), request, Env(stale))));

        var unhealthy = SampleCopy.Ledger(SampleCopy.Preflight(SampleCopy.ChangeId, Now.AddHours(-1), healthy: false));
        Assert.Equal(["TRANSITION.HealthBaselineMissing"], Rules(TransitionPlanner.PlanState(_estate.Load(), request, Env(unhealthy))));

        var unverified = SampleCopy.Ledger(SampleCopy.Preflight(SampleCopy.ChangeId, Now.AddHours(-1), unverified: ["grafana"]));
        var plan = TransitionPlanner.PlanState(_estate.Load(), request, Env(unverified));
        Assert.Equal(["TRANSITION.BackupNotVerified"], Rules(plan));
        Assert.Contains("grafana", plan.Findings[0].Message);
    }

    [Fact]
    public void EvidenceIsNotRequiredWhenTheRollbackSectionDoesNotAskForIt()
    {
        _estate.Replace(SampleCopy.Manifest, "requires_backup_verification: true", "requires_backup_verification: false");
        _estate.Replace(SampleCopy.Manifest, "requires_health_baseline: true", "requires_health_baseline: false");
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cutover) { ApprovedBy = "cab-chair" }, Env());
        Assert.False(BlockedByOtherGuards(plan), string.Join("\n", plan.Findings));
    }

    [Fact]
    public void EachStateNeedsItsChecklistAndEveryItemNotDoneIsNamedWithTheCommandThatCompletesIt()
    {
        var request = new StateTransitionRequest(RelocationState.Cutover) { ApprovedBy = "cab-chair" };
        var plan = TransitionPlanner.PlanState(_estate.Load(), request, Env(FreshEvidence()));
        Assert.True(plan.Blocked);
        var items = plan.Findings.Where(f => f.RuleId == ChecklistEvaluator.IncompleteRule).ToList();
        // The approval is the transition's own (TRANSITION.ApprovalMissing guards it); the manifest item is Done.
        Assert.DoesNotContain(items, f => f.Subject is "PRE.Approval" or "PRE.ManifestComplete");
        var parity = Assert.Single(items, f => f.Subject == "PRE.Parity");
        Assert.Equal(FindingSeverity.Error, parity.Severity);
        Assert.StartsWith("Entering cutover needs the Pre-Cutover checklist: PRE.Parity (", parity.Message, StringComparison.Ordinal);
        Assert.EndsWith("Complete it with: Invoke-RelocationParity", parity.Message, StringComparison.Ordinal);
        Assert.Equal(new SourceLocation(SampleCopy.Manifest, 13, 10), parity.Location);
        Assert.Equal("Missing", parity.Actual);

        var forced = TransitionPlanner.PlanState(_estate.Load(), request with { ForceReason = "CAB-118: evidence in the paper file" }, Env(FreshEvidence()));
        Assert.False(forced.Blocked, string.Join("\n", forced.Findings));
        Assert.Equal("CAB-118: evidence in the paper file", forced.OverrideReason);
        Assert.All(forced.Findings.Where(f => f.RuleId == ChecklistEvaluator.IncompleteRule), f =>
        {
            Assert.Equal(FindingSeverity.Warning, f.Severity);
            Assert.StartsWith("Overridden (-Force): Entering cutover", f.Message, StringComparison.Ordinal);
        });
        Assert.Contains(forced.Overrides, o => o.Contains("Pre-Cutover item(s) not done (PRE.ImpactReviewed, ", StringComparison.Ordinal) && o.EndsWith("reason: CAB-118: evidence in the paper file", StringComparison.Ordinal));

        _estate.SetState("cutover");
        Assert.Contains(TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cleanup), Env()).Findings,
            f => f.RuleId == ChecklistEvaluator.IncompleteRule && f.Message.StartsWith("Entering cleanup needs the Post-Cutover checklist: POST.", StringComparison.Ordinal));
        // A step back needs no checklist.
        Assert.DoesNotContain(TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Preflight) { Rollback = true }, Env()).Findings,
            f => f.RuleId == ChecklistEvaluator.IncompleteRule);
    }

    [Fact]
    public void CompleteNeedsThePostCleanupConfirmationsButNotTheStateItSets()
    {
        _estate.SetState("cleanup");
        Assert.Equal(["CLEAN.Decommissioned", "CLEAN.OpenLoopClosed"],
            ChecklistEvaluator.Unmet(_estate.Load(), LedgerView.Empty, RelocationState.Complete).Select(i => i.Id));
        Assert.Empty(ChecklistEvaluator.Unmet(_estate.Load(), LedgerView.Empty, RelocationState.Preflight));
    }

    [Fact]
    public void CleanupNeedsNoServiceInShadowOrCutover()
    {
        _estate.SetState("cutover");
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cleanup), Env());
        Assert.Equal(["TRANSITION.ServicesInFlight"], Rules(plan));
    }

    [Fact]
    public void CompleteNeedsEveryServiceCompleteOrRolledBack()
    {
        _estate.SetState("cleanup");
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Complete), Env());
        Assert.Equal(["TRANSITION.ServicesNotFinished"], Rules(plan));
        Assert.Contains("and ", plan.Findings[0].Message); // long lists are shortened
    }

    [Fact]
    public void ApprovedByOnlyWhenEnteringCutover()
    {
        _estate.SetState("cutover");
        var ex = Assert.Throws<RelocationException>(() => TransitionPlanner.PlanState(_estate.Load(),
            new StateTransitionRequest(RelocationState.Cleanup) { ApprovedBy = "x" }, Env()));
        Assert.Equal("ApprovedByNotApplicable", ex.ErrorId);
    }

    [Fact]
    public void NoActiveRelocationIsAnError()
    {
        var text = _estate.Text(SampleCopy.Manifest);
        var start = text.IndexOf("active_relocation:", StringComparison.Ordinal);
        var end = text.IndexOf("completed_relocations:", StringComparison.Ordinal);
        File.WriteAllText(_estate.Full(SampleCopy.Manifest), text[..start] + "active_relocation: null\n\n" + text[end..]);
        var ex = Assert.Throws<RelocationException>(() => TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cutover), Env()));
        Assert.Equal("NoActiveRelocation", ex.ErrorId);
    }

    // ------------------------------------------------------------------------------------------ service status

    [Fact]
    public void IllegalServiceTransitionNamesAllowedNextStatuses()
    {
        var ex = Assert.Throws<RelocationException>(() =>
            TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("bookmarks", ServiceStatus.Complete), Env()));
        Assert.Equal("ServiceStatusTransitionNotAllowed", ex.ErrorId);
        Assert.Contains("Allowed next status(es) from planned: shadow, cutover", ex.Message);
    }

    [Fact]
    public void UnknownServiceIsNotFound()
    {
        var ex = Assert.Throws<RelocationException>(() =>
            TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("nope", ServiceStatus.Shadow), Env()));
        Assert.Equal("ServiceNotFound", ex.ErrorId);
    }

    [Fact]
    public void ShadowMovesTheRegistryHostInTheSameTransition()
    {
        var plan = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("bookmarks", ServiceStatus.Shadow), Env());
        Assert.False(plan.Blocked);
        Assert.Equal(
            [(SampleCopy.Manifest, "services[?service=bookmarks].status", "shadow", "planned"),
             (SampleCopy.Manifest, "active_relocation.updated_at", "2026-11-26T12:00:00Z", null),
             (SampleCopy.Registry, "services.bookmarks.host", "app-core", "legacy-docker")],
            plan.Edits.Select(e => (e.File, e.Edit.Path, e.Edit.Value, e.Edit.Expected)));
    }

    [Fact]
    public void UpdateSsotMovesTheStackTargetAndHealthHostInTheSameTransition()
    {
        var without = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("bookmarks", ServiceStatus.Shadow), Env());
        Assert.DoesNotContain(without.Edits, e => e.File != SampleCopy.Manifest && e.File != SampleCopy.Registry);

        var plan = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("bookmarks", ServiceStatus.Shadow) { UpdateSsot = true }, Env());
        Assert.False(plan.Blocked);
        var ssot = plan.Edits.Where(e => e.File != SampleCopy.Manifest && e.File != SampleCopy.Registry).Select(e => (e.File, e.Edit.Value, e.Edit.Expected)).ToList();
        Assert.Equal(
            [("ops/governance/STACK_REGISTRY.yaml", "host:app-core", "host:legacy-docker"),
             ("ops/bindings/services.health.yaml", "app-core", "legacy-docker")],
            ssot);
        Assert.Equal(without.Edits.Count + 2, plan.Edits.Count);
    }

    [Fact]
    public void CutoverStatusNeedsRelocationStateAndApproval()
    {
        var plan = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Cutover), Env());
        Assert.Equal(["TRANSITION.RelocationStateMismatch", "TRANSITION.ApprovalMissing"], Rules(plan));
    }

    [Fact]
    public void AppliedNeedsThePromotionOrForce()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        _estate.SetServiceStatus("wiki", "cutover");
        Assert.Equal(["TRANSITION.PromotionRequired"],
            Rules(TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Applied), Env())));
        var forced = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Applied) { Force = true }, Env());
        Assert.False(forced.Blocked);
        Assert.Single(forced.Overrides);
        Assert.False(TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Applied) { ViaPromotion = true }, Env()).Blocked);
    }

    [Fact]
    public void ThePromotedMeaningIsWrittenInTheEstatesOwnWord()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        _estate.SetServiceStatus("wiki", "cutover");
        _estate.SetServiceStatus("pastebin", "cutover");
        // No service promoted yet: the protocol's word, whichever word was asked for.
        var migrated = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Applied) { ViaPromotion = true }, Env());
        Assert.Equal("migrated", migrated.After);
        Assert.Contains(migrated.Edits, e => e.Edit.Value == "migrated");
        // An estate that already writes applied keeps writing it, also when asked for migrated.
        _estate.SetServiceStatus("status-page", "applied");
        var applied = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("pastebin", ServiceStatus.Migrated) { ViaPromotion = true }, Env());
        Assert.Equal("applied", applied.After);
        Assert.False(applied.Blocked);
    }

    [Fact]
    public void AMoveTheRegistryCannotFollowIsRefused()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        var registry = _estate.Full(SampleCopy.Registry);
        // Not a mapping.
        var original = File.ReadAllText(registry);
        File.WriteAllText(registry, "version: 1\nservices: 42\n");
        Assert.Contains("TRANSITION.RegistryEntryMissing", Rules(TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Cutover), Env())));
        // A symbolic link to another file.
        File.WriteAllText(registry + ".real", original);
        File.Delete(registry);
        File.CreateSymbolicLink(registry, registry + ".real");
        Assert.Contains("TRANSITION.RegistryIsSymlink", Rules(TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Cutover), Env())));
        // Missing.
        File.Delete(registry);
        Assert.Contains("TRANSITION.RegistryMissing", Rules(TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("wiki", ServiceStatus.Cutover), Env())));
    }

    [Fact]
    public void RollbackMovesTheRegistryToRollbackTo()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        var plan = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("prometheus", ServiceStatus.RolledBack), Env());
        Assert.False(plan.Blocked);
        Assert.Contains(plan.Edits, e => e.File == SampleCopy.Registry && e.Edit.Path == "services.prometheus.host" && e.Edit.Value == "dr-standby" && e.Edit.Expected == "mon-core");
    }

    [Fact]
    public void RollbackWindowIsRespected()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        _estate.SetServiceStatus("wiki", "applied");
        var request = new ServiceTransitionRequest("wiki", ServiceStatus.RolledBack);
        string Applied(DateTimeOffset at) => System.Text.Json.JsonSerializer.Serialize(new
        {
            Capability = LedgerView.PromotionCapability, Mode = "Execute", Outcome = "Succeeded", Service = "wiki", Before = "cutover", After = "applied", EndedUtc = at,
        });

        var unknown = TransitionPlanner.PlanService(_estate.Load(), request, Env());
        Assert.False(unknown.Blocked);
        Assert.Contains(unknown.Findings, f => f.RuleId == "TRANSITION.RollbackWindowUnknown");

        var inside = TransitionPlanner.PlanService(_estate.Load(), request, Env(SampleCopy.Ledger(Applied(Now.AddHours(-47)))));
        Assert.False(inside.Blocked);
        Assert.DoesNotContain(inside.Findings, f => f.RuleId.StartsWith("TRANSITION.RollbackWindow", StringComparison.Ordinal));

        var outside = TransitionPlanner.PlanService(_estate.Load(), request, Env(SampleCopy.Ledger(Applied(Now.AddHours(-49)))));
        Assert.Equal(["TRANSITION.RollbackWindowExpired"], Rules(outside));

        var forced = TransitionPlanner.PlanService(_estate.Load(), request with { Force = true }, Env(SampleCopy.Ledger(Applied(Now.AddHours(-49)))));
        Assert.False(forced.Blocked);
        Assert.Contains("-Force", forced.Overrides.Single());
    }

    [Fact]
    public void ALaterPhasesServiceEntersCutoverOnlyWithItsPhasesVmTargetsReadyOrByOverride()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        var prometheus = new ServiceTransitionRequest("prometheus", ServiceStatus.Cutover);
        string Run(string capability, string outcome, object extra, int minute, string mode = "Execute")
        {
            var properties = System.Text.Json.JsonSerializer.SerializeToElement(extra).EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value);
            properties["Capability"] = capability;
            properties["Mode"] = mode;
            properties["Outcome"] = outcome;
            properties["RunId"] = $"run-{minute}";
            properties["ChangeId"] = SampleCopy.ChangeId;
            properties["EndedUtc"] = Now.AddMinutes(minute);
            return System.Text.Json.JsonSerializer.Serialize(properties);
        }

        // Phase 1 (wiki to app-core and app-web) is checked at the move too: the relocation reached cutover by a hand
        // edit here, with no run that entered cutover, so nothing stands for phase 1's VM items ...
        var wikiRequest = new ServiceTransitionRequest("wiki", ServiceStatus.Cutover);
        var wiki = TransitionPlanner.PlanService(_estate.Load(), wikiRequest, Env());
        Assert.Equal(["PRE.VmProvisioned", "PRE.VmBootstrapped", "PRE.VmReady"], wiki.Findings.Where(f => f.RuleId == ChecklistEvaluator.IncompleteRule).Select(f => f.Subject));
        Assert.StartsWith("Moving 'wiki' (phase 1) to cutover needs the Pre-Cutover checklist's VM items for its phase: PRE.VmProvisioned",
            wiki.Findings.First(f => f.RuleId == ChecklistEvaluator.IncompleteRule).Message, StringComparison.Ordinal);
        // ... until the run that entered cutover overrode them (-Force -Reason, recorded for phase 1): it stands for them.
        var entered = Run(ChecklistEvaluator.StateCapability, "Succeeded", new
        {
            Before = "preflight", After = "cutover", OverrideReason = "CAB-118",
            Findings = ChecklistEvaluator.VmItemIds.Select(id => new { RuleId = ChecklistEvaluator.IncompleteRule, Severity = "Warning", Subject = id, Expected = "Done for phase 1" }),
        }, 0);
        Assert.DoesNotContain(TransitionPlanner.PlanService(_estate.Load(), wikiRequest, Env(SampleCopy.Ledger(entered))).Findings, f => f.RuleId == ChecklistEvaluator.IncompleteRule);

        // Blocked: prometheus is phase 2, whose services move to app-web and mon-core; no evidence for them.
        var blocked = TransitionPlanner.PlanService(_estate.Load(), prometheus, Env());
        Assert.True(blocked.Blocked);
        Assert.Empty(Rules(blocked));
        var items = blocked.Findings.Where(f => f.RuleId == ChecklistEvaluator.IncompleteRule).ToList();
        Assert.Equal(["PRE.VmProvisioned", "PRE.VmBootstrapped", "PRE.VmReady"], items.Select(f => f.Subject));
        Assert.All(items, f => Assert.Equal(FindingSeverity.Error, f.Severity));
        Assert.All(items, f => Assert.Equal("Done for phase 2", f.Expected));
        var ready = items[2];
        Assert.Equal(_estate.Load().Manifest!.Services.Single(s => s.Service == "prometheus").LocationOf("status"), ready.Location);
        Assert.Equal("Moving 'prometheus' (phase 2) to cutover needs the Pre-Cutover checklist's VM items for its phase: PRE.VmReady " +
                     "(VM readiness passes (infra.vm.ready.status) and the VM target is ready) is Missing: Phase 2: app-web: no readiness receipt; " +
                     "mon-core: no readiness receipt. Complete it with: Get-VmReadiness -Hostname app-web", ready.Message);

        // Forced with a reason: warnings, the override and the reason recorded.
        var forced = TransitionPlanner.PlanService(_estate.Load(), prometheus with { Force = true, ForceReason = "CAB-9: mon-core checked by hand" }, Env());
        Assert.False(forced.Blocked);
        Assert.Equal("CAB-9: mon-core checked by hand", forced.OverrideReason);
        Assert.Equal("Moved 'prometheus' to cutover with 3 Pre-Cutover item(s) of phase 2 not done (PRE.VmProvisioned, PRE.VmBootstrapped, PRE.VmReady); reason: CAB-9: mon-core checked by hand",
            Assert.Single(forced.Overrides));
        Assert.All(forced.Findings.Where(f => f.RuleId == ChecklistEvaluator.IncompleteRule),
            f => Assert.StartsWith("Overridden (-Force): Moving 'prometheus'", f.Message, StringComparison.Ordinal));

        // Passing: both VMs provisioned, bootstrapped, then a passing readiness run each (the sample says ready).
        var evidence = new List<string>();
        var minute = 0;
        foreach (var vm in new[] { "app-web", "mon-core" })
        {
            evidence.Add(Run("infra.vm.provision", "Succeeded", new { Target = vm }, ++minute));
            evidence.Add(Run("infra.vm.bootstrap", "Succeeded", new { Hostname = vm }, ++minute));
            evidence.Add(Run("infra.vm.ready.status", "Passed", new { Hostname = vm, IsReady = true }, ++minute, mode: "Read"));
        }
        var passing = TransitionPlanner.PlanService(_estate.Load(), prometheus, Env(SampleCopy.Ledger([.. evidence])));
        Assert.False(passing.Blocked);
        Assert.DoesNotContain(passing.Findings, f => f.RuleId == ChecklistEvaluator.IncompleteRule);

        // Readiness must be newer than the VM's last change: mon-core bootstrapped again after its readiness run.
        evidence.Add(Run("infra.vm.bootstrap", "Succeeded", new { Hostname = "mon-core" }, ++minute));
        var stale = TransitionPlanner.PlanService(_estate.Load(), prometheus, Env(SampleCopy.Ledger([.. evidence])));
        Assert.Equal("PRE.VmReady", Assert.Single(stale.Findings, f => f.Severity == FindingSeverity.Error).Subject);
        Assert.Contains("mon-core: run run-6 at ", stale.Findings.Single(f => f.Severity == FindingSeverity.Error).Message, StringComparison.Ordinal);
        Assert.Contains("predates the VM's last change (run-7", stale.Findings.Single(f => f.Severity == FindingSeverity.Error).Message, StringComparison.Ordinal);

        // Not in cutover yet: the state guard speaks (RelocationStateMismatch), not this one.
        _estate.Replace(SampleCopy.Manifest, "state: \"cutover\"", "state: \"preflight\"");
        Assert.DoesNotContain(TransitionPlanner.PlanService(_estate.Load(), prometheus, Env()).Findings, f => f.RuleId == ChecklistEvaluator.IncompleteRule);
    }

    [Fact]
    public void AServiceWithoutAPhaseEntersCutoverOnlyWithTheVmTargetItsToHostNamesReadyOrByOverride()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        // identity-provider (shadow, to auth-core) loses its phase; ldap-proxy keeps phase 3, also on auth-core.
        _estate.Replace(SampleCopy.Manifest, "to_host: \"auth-core\"\n    phase: 3\n    health_url: \"http://192.0.2.114:9000/", "to_host: \"auth-core\"\n    health_url: \"http://192.0.2.114:9000/");
        Assert.Null(_estate.Load().Manifest!.Services.Single(s => s.Service == "identity-provider").Phase);
        var request = new ServiceTransitionRequest("identity-provider", ServiceStatus.Cutover);
        string Run(string capability, string outcome, object extra, int minute, string mode = "Execute") =>
            System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonSerializer.SerializeToElement(extra).EnumerateObject()
                .ToDictionary(p => p.Name, p => (object?)p.Value)
                .Concat(new Dictionary<string, object?>
                {
                    ["Capability"] = capability, ["Mode"] = mode, ["Outcome"] = outcome, ["RunId"] = $"run-{minute}",
                    ["ChangeId"] = SampleCopy.ChangeId, ["EndedUtc"] = Now.AddMinutes(minute),
                }).ToDictionary());

        // Blocked: the VM target its to_host names (auth-core) has no evidence.
        var blocked = TransitionPlanner.PlanService(_estate.Load(), request, Env());
        Assert.True(blocked.Blocked);
        Assert.Empty(Rules(blocked));
        var items = blocked.Findings.Where(f => f.RuleId == ChecklistEvaluator.IncompleteRule).ToList();
        Assert.Equal(["PRE.VmProvisioned", "PRE.VmBootstrapped", "PRE.VmReady"], items.Select(f => f.Subject));
        Assert.All(items, f => Assert.Equal("Done for 'identity-provider' (no phase)", f.Expected));
        Assert.Equal("Moving 'identity-provider' (no phase) to cutover needs the Pre-Cutover checklist's VM items for the VM target it moves to (auth-core): PRE.VmReady " +
                     "(VM readiness passes (infra.vm.ready.status) and the VM target is ready) is Missing: 'identity-provider' (no phase): auth-core: no readiness receipt. " +
                     "Complete it with: Get-VmReadiness -Hostname auth-core", items[2].Message);

        // Forced with a reason: recorded; the override covers this move alone (not phase 3, whose ldap-proxy also lands on auth-core).
        var forced = TransitionPlanner.PlanService(_estate.Load(), request with { Force = true, ForceReason = "CAB-9: auth-core checked by hand" }, Env());
        Assert.False(forced.Blocked);
        Assert.Equal("Moved 'identity-provider' to cutover with 3 Pre-Cutover item(s) of its VM target auth-core (no phase) not done (PRE.VmProvisioned, PRE.VmBootstrapped, PRE.VmReady); reason: CAB-9: auth-core checked by hand",
            Assert.Single(forced.Overrides));
        var moved = Run(LedgerView.ServiceCapability, "Succeeded", new { Service = "identity-provider", Before = "shadow", After = "cutover", OverrideReason = forced.OverrideReason, forced.Findings }, 1);
        var ldap = TransitionPlanner.PlanService(_estate.Load(), new ServiceTransitionRequest("ldap-proxy", ServiceStatus.Cutover), Env(SampleCopy.Ledger(moved)));
        Assert.Equal(["PRE.VmProvisioned", "PRE.VmBootstrapped", "PRE.VmReady"], ldap.Findings.Where(f => f.RuleId == ChecklistEvaluator.IncompleteRule).Select(f => f.Subject));

        // Passing: auth-core provisioned, bootstrapped, then a passing readiness run (the sample says ready).
        var passing = TransitionPlanner.PlanService(_estate.Load(), request, Env(SampleCopy.Ledger(
            Run("infra.vm.provision", "Succeeded", new { Target = "auth-core" }, 2),
            Run("infra.vm.bootstrap", "Succeeded", new { Hostname = "auth-core" }, 3),
            Run("infra.vm.ready.status", "Passed", new { Hostname = "auth-core", IsReady = true }, 4, mode: "Read"))));
        Assert.False(passing.Blocked);
        Assert.DoesNotContain(passing.Findings, f => f.RuleId == ChecklistEvaluator.IncompleteRule);

        // A service without a phase whose to_host is no VM target needs no VM evidence.
        _estate.Replace(SampleCopy.Manifest, "to_host: \"auth-core\"\n    health_url: \"http://192.0.2.114:9000/", "to_host: \"legacy-docker\"\n    health_url: \"http://192.0.2.114:9000/");
        Assert.DoesNotContain(TransitionPlanner.PlanService(_estate.Load(), request, Env()).Findings, f => f.RuleId == ChecklistEvaluator.IncompleteRule);
    }

    // ------------------------------------------------------------------------------------------ VM target

    [Theory]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.254")]
    public void TailscaleRangeAccepted(string ip) => TransitionPlanner.ValidateTailscaleIp(ip);

    [Theory]
    [InlineData("100.128.0.1")]
    [InlineData("100.63.255.255")]
    [InlineData("10.0.0.1")]
    [InlineData("100.64.1")]
    [InlineData("fd7a:115c:a1e0::1")]
    public void TailscaleRangeRefused(string ip) =>
        Assert.Equal("InvalidTailscaleIp", Assert.Throws<RelocationException>(() => TransitionPlanner.ValidateTailscaleIp(ip)).ErrorId);

    [Fact]
    public void VmTargetEditsStatusIpAndAddsAddress()
    {
        var plan = TransitionPlanner.PlanVmTarget(_estate.Load(),
            new VmTargetRequest("files-core") { Status = VmTargetStatus.Ready, TailscaleIp = "100.64.10.126", Address = "192.0.2.116" }, Env());
        Assert.False(plan.Blocked);
        Assert.Equal(
            ["vm_targets[?hostname=files-core].status", "vm_targets[?hostname=files-core].tailscale_ip", "vm_targets[?hostname=files-core].address", "active_relocation.updated_at"],
            plan.Edits.Select(e => e.Edit.Path));
        Assert.Equal(YamlEdit.ExpectAbsent, plan.Edits[2].Edit.Expected);
    }
}
