using System.Globalization;
using System.Net;
using System.Net.Sockets;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Transitions;

/// <summary>What the planner needs besides the estate: the clock, who acts, and the receipt ledger (history/evidence).</summary>
public sealed record TransitionEnvironment
{
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>The user running the transition (self-approval check).</summary>
    public string Actor { get; init; } = Environment.UserName;
    public LedgerView Ledger { get; init; } = LedgerView.Empty;
}

/// <summary>Set-RelocationState: move <c>active_relocation.state</c> to <see cref="Target"/>.</summary>
public sealed record StateTransitionRequest(RelocationState Target)
{
    /// <summary>Allow one step back (cutover → preflight, preflight → planning): an abort.</summary>
    public bool Rollback { get; init; }
    /// <summary>Sets <c>approved_by</c> (only when entering cutover).</summary>
    public string? ApprovedBy { get; init; }
    /// <summary>Accept an approver equal to the actor or the relocation owner.</summary>
    public bool AllowSelfApproval { get; init; }
    /// <summary>-Force -Reason: enter the state although its checklist is not done (the items and the reason go into the receipt).</summary>
    public string? ForceReason { get; init; }
}

/// <summary>Set-RelocationServiceStatus / promotion: move one service to <see cref="Target"/>.</summary>
public sealed record ServiceTransitionRequest(string Service, ServiceStatus Target)
{
    /// <summary>Override the rollback window, and allow <c>applied</c> without the health-gated promotion.</summary>
    public bool Force { get; init; }
    /// <summary>The -Reason of -Force, recorded as the plan's OverrideReason when an override was used (the checklist reads it).</summary>
    public string? ForceReason { get; init; }
    /// <summary>Set by Invoke-RelocationPromotion after its health probes passed.</summary>
    public bool ViaPromotion { get; init; }
    /// <summary>-UpdateSsot: the stack registry's deploy_target and the health binding's host follow in the same transaction.</summary>
    public bool UpdateSsot { get; init; }
}

/// <summary>Set-RelocationVmTarget: status and addresses of one VM target.</summary>
public sealed record VmTargetRequest(string Hostname)
{
    public VmTargetStatus? Status { get; init; }
    public string? Address { get; init; }
    public string? TailscaleIp { get; init; }
}

/// <summary>One scalar edit of a file, planned.</summary>
public sealed record PlannedEdit(string File, YamlEdit Edit);

/// <summary>
/// The decision of a transition: the guard findings (any error blocks it) and the edits that carry it out
/// (each with the value it expects to replace). No edits = nothing to do (idempotent re-run).
/// </summary>
public sealed record TransitionPlan
{
    public required string Subject { get; init; }
    public string? ChangeId { get; init; }
    public string? Before { get; init; }
    public string? After { get; init; }
    public IReadOnlyList<PlannedEdit> Edits { get; init; } = [];
    /// <summary>Block edits (the relocation lifecycle), each planned from a file's exact bytes.</summary>
    public IReadOnlyList<PlannedRewrite> Rewrites { get; init; } = [];
    public IReadOnlyList<RelocationFinding> Findings { get; init; } = [];
    /// <summary>Guards overridden on purpose (recorded in the receipt).</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];
    /// <summary>The mutation guard's verdict on the estate after this change (null until the executor judged it).</summary>
    public Governance.GuardVerdict? Guard { get; init; }
    /// <summary>Why the operator forced past the mutation guard (-Force -Reason); null when nothing was forced.</summary>
    public string? OverrideReason { get; init; }
    public string Summary { get; init; } = "";

    public bool Blocked => Findings.Any(f => f.Severity == FindingSeverity.Error);
    public bool NoOp => Edits.Count == 0 && Rewrites.Count == 0;
}

/// <summary>
/// Decides transitions: pure functions of the loaded estate, the request and the environment (clock, actor, ledger).
/// Illegal transitions throw <see cref="RelocationException"/> naming the allowed next states; guards that fail are
/// error findings (the plan is <see cref="TransitionPlan.Blocked"/>). Edits carry <c>expected:</c> current values.
/// </summary>
public static class TransitionPlanner
{
    public const string UpdatedAtPath = "active_relocation.updated_at";
    public const string StatePath = "active_relocation.state";
    public const string ApprovedByPath = "active_relocation.approved_by";

    /// <summary>UTC timestamp as the manifest stores it: <c>yyyy-MM-ddTHH:mm:ssZ</c>.</summary>
    public static string Timestamp(DateTimeOffset now) => now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------------------------------ relocation state

    public static TransitionPlan PlanState(EstateSnapshot estate, StateTransitionRequest request, TransitionEnvironment env)
    {
        var (manifest, file, active) = RequireActive(estate);
        var current = active.State ?? throw new RelocationException("RelocationStateUnknown", FailureKind.InvalidData,
            $"active_relocation.state is '{active.StateText ?? "(missing)"}', not a known state (planning, preflight, cutover, cleanup, complete); fix the manifest first.",
            active.LocationOf("state"), file);
        var target = request.Target;
        var before = active.StateText;
        var after = RelocationStateMachine.Yaml(target);
        var findings = new List<RelocationFinding>();
        var overrides = new List<string>();
        var edits = new List<PlannedEdit>();
        string? overrideReason = null;

        if (current == target)
        {
            if (request.ApprovedBy is { } same && !string.Equals(same, active.ApprovedBy, StringComparison.Ordinal))
            {
                throw new RelocationException("ApprovedByNotApplicable", FailureKind.InvalidArgument,
                    "-ApprovedBy is set when entering cutover; the relocation is already in that state.", null, request.ApprovedBy);
            }
            return new TransitionPlan
            {
                Subject = "relocation", ChangeId = active.ChangeId, Before = before, After = after,
                Summary = $"The relocation is already in state {after}; nothing to do.",
            };
        }

        var forward = RelocationStateMachine.IsForward(current, target);
        var back = RelocationStateMachine.IsRollback(current, target);
        if (!forward && !(back && request.Rollback))
        {
            var next = RelocationStateMachine.AllowedNext(current).Select(RelocationStateMachine.Yaml).ToList();
            var rollback = RelocationStateMachine.AllowedRollback(current).Select(RelocationStateMachine.Yaml).ToList();
            var allowed = next.Count == 0 ? "none (complete is final)" : string.Join(", ", next);
            var hint = back
                ? $" Stepping back to {after} is an abort: repeat with -Rollback."
                : rollback.Count > 0 ? $" With -Rollback: {string.Join(", ", rollback)}." : "";
            throw new RelocationException("RelocationStateTransitionNotAllowed", FailureKind.InvalidOperation,
                $"The relocation cannot go from {before} to {after}. Allowed next state(s) from {before}: {allowed}.{hint}",
                active.LocationOf("state"), after);
        }
        if (request.Rollback && forward)
        {
            throw new RelocationException("RollbackNotBackward", FailureKind.InvalidArgument,
                $"-Rollback steps back; {before} → {after} is a forward step (omit -Rollback).", active.LocationOf("state"), after);
        }
        if (request.ApprovedBy is not null && target != RelocationState.Cutover)
        {
            throw new RelocationException("ApprovedByNotApplicable", FailureKind.InvalidArgument,
                $"-ApprovedBy records the approval for cutover; it cannot be set when moving to {after}.", null, request.ApprovedBy);
        }

        var services = manifest.Services;
        if (back)
        {
            var allowedStatuses = RelocationStateMachine.ServiceStatusesAllowedIn(target);
            var past = services.Where(s => s.Status is not { } st || !allowedStatuses.Contains(st)).ToList();
            if (past.Count > 0)
            {
                findings.Add(Block("TRANSITION.ServicesPastState", manifest, past[0].LocationOf("status"),
                    $"Cannot step back to {after}: {Names(past)} {(past.Count == 1 ? "is" : "are")} past what {after} allows " +
                    $"({string.Join(", ", allowedStatuses.Select(ServiceStatusMachine.Yaml))}). Move them back first (rolled-back → planned).",
                    string.Join(", ", allowedStatuses.Select(ServiceStatusMachine.Yaml)), Names(past)));
            }
        }
        else
        {
            // SCHEMA, D35, D37 and identity on the estate after the step are the mutation guard's (TransitionExecutor).
            if (target is RelocationState.Cleanup or RelocationState.Complete)
            {
                // Entering cleanup or complete needs D35 green outright: no "only removes errors" allowance, no -Force.
                foreach (var finding in ParityGate.Evaluate(estate, new GateOptions { Now = env.Now }).Findings.Where(f => f.Severity == FindingSeverity.Error))
                {
                    findings.Add(finding with { Message = $"Entering {after} needs D35 green: {finding.Message}" });
                }
            }
            switch (target)
            {
                case RelocationState.Cutover:
                    CutoverGuards(manifest, active, request, env, findings, overrides, edits);
                    break;
                case RelocationState.Cleanup:
                {
                    var inFlight = services.Where(s => s.Status is ServiceStatus.Shadow or ServiceStatus.Cutover).ToList();
                    if (inFlight.Count > 0)
                    {
                        findings.Add(Block("TRANSITION.ServicesInFlight", manifest, inFlight[0].LocationOf("status"),
                            $"Cannot enter cleanup while {Names(inFlight)} {(inFlight.Count == 1 ? "is" : "are")} in shadow or cutover; promote or roll them back first.",
                            "no service in shadow or cutover", Names(inFlight)));
                    }
                    break;
                }
                case RelocationState.Complete:
                {
                    var open = services.Where(s => s.Status is not (ServiceStatus.Complete or ServiceStatus.RolledBack)).ToList();
                    if (open.Count > 0)
                    {
                        findings.Add(Block("TRANSITION.ServicesNotFinished", manifest, open[0].LocationOf("status"),
                            $"Cannot complete the relocation: {Names(open)} {(open.Count == 1 ? "is" : "are")} not complete or rolled-back.",
                            "every service complete or rolled-back", Names(open)));
                    }
                    break;
                }
            }
            overrideReason = ChecklistGuard(estate, manifest, active, request, env, findings, overrides);
        }

        edits.Insert(0, new PlannedEdit(file, YamlEdit.Set("active_relocation.state", after, expected: before)));
        edits.Add(new PlannedEdit(file, YamlEdit.Set(UpdatedAtPath, Timestamp(env.Now))));
        return new TransitionPlan
        {
            Subject = "relocation", ChangeId = active.ChangeId, Before = before, After = after,
            Edits = edits, Findings = findings, Overrides = overrides, OverrideReason = overrideReason,
            Summary = $"Relocation {active.ChangeId}: {before} → {after}{(back ? " (rollback)" : "")}",
        };
    }

    /// <summary>
    /// Entering cutover, cleanup or complete needs the Pre-Cutover, Post-Cutover or Post-Cleanup checklist done
    /// (Done or Overridden; <see cref="ChecklistEvaluator.Unmet"/>): each item that is not is a finding naming it, its
    /// evidence and the command that completes it. With -Force -Reason they are recorded as overridden warnings
    /// instead (the checklist then shows them Overridden); returns the reason when it was used.
    /// </summary>
    /// <summary>The rule of the Information finding that names evidence a transition relies on which no anchor seals yet.</summary>
    public const string UnanchoredEvidenceRule = "TRANSITION.EvidenceNotAnchored";

    private static string? ChecklistGuard(EstateSnapshot estate, RelocationManifest manifest, ActiveRelocation active, StateTransitionRequest request,
        TransitionEnvironment env, List<RelocationFinding> findings, List<string> overrides)
    {
        if (ChecklistEvaluator.RequiredBefore(request.Target) is not { } phase)
        {
            return null;
        }
        var after = RelocationStateMachine.Yaml(request.Target);
        var list = ChecklistEvaluator.Title(phase);
        // The evidence this change relies on that no anchor seals yet (appended after the last change): named in the
        // receipt, which this change's ledger_anchor then seals into the estate's history.
        foreach (var item in ChecklistEvaluator.ReliedOnUnanchored(estate, env.Ledger, request.Target))
        {
            findings.Add(Block(UnanchoredEvidenceRule, manifest, active.LocationOf("state"),
                    $"Entering {after} relies on {item.Id} ({item.Title}), done on run {item.RunId}, which was appended after the last change and is not yet anchored; " +
                    "this change anchors it. Without receipts.signers a correctly linked receipt appended by hand cannot be told from a real one: Test-RelocationReceiptChain names every unanchored receipt.",
                    "an anchored receipt", item.RunId, item.Id) with { Severity = FindingSeverity.Information });
        }
        var unmet = ChecklistEvaluator.Unmet(estate, env.Ledger, request.Target);
        if (unmet.Count == 0)
        {
            return null;
        }
        foreach (var item in unmet)
        {
            var message = $"Entering {after} needs the {list} checklist: {item.Id} ({item.Title}) is {item.State}: {item.Evidence.TrimEnd('.')}." +
                          (item.Command is { } command ? $" Complete it with: {command}" : "");
            var finding = Block(ChecklistEvaluator.IncompleteRule, manifest, active.LocationOf("state"), message, ChecklistEvaluator.OverrideExpected(item), item.State.ToString(), item.Id);
            findings.Add(request.ForceReason is null ? finding : finding with { Severity = FindingSeverity.Warning, Message = $"Overridden (-Force): {message}" });
        }
        if (request.ForceReason is not { } reason)
        {
            return null;
        }
        overrides.Add($"Entered {after} with {unmet.Count} {list} item(s) not done ({string.Join(", ", unmet.Select(i => i.Id))}); reason: {reason}");
        return reason;
    }

    private static void CutoverGuards(RelocationManifest manifest, ActiveRelocation active, StateTransitionRequest request,
        TransitionEnvironment env, List<RelocationFinding> findings, List<string> overrides, List<PlannedEdit> edits)
    {
        var approver = request.ApprovedBy ?? active.ApprovedBy;
        if (string.IsNullOrWhiteSpace(approver))
        {
            findings.Add(Block("TRANSITION.ApprovalMissing", manifest, active.LocationOf("approved_by"),
                "Entering cutover needs an approval: active_relocation.approved_by is empty (pass -ApprovedBy).", "an approver", null));
        }
        else
        {
            var self = new[] { env.Actor, active.Owner }.Where(n => !string.IsNullOrWhiteSpace(n)).FirstOrDefault(n => SamePerson(n!, approver));
            if (self is not null)
            {
                if (request.AllowSelfApproval)
                {
                    overrides.Add($"Self-approval accepted (-AllowSelfApproval): approver '{approver}' is the {(SamePerson(env.Actor, approver) ? "user running the transition" : "relocation owner")}.");
                }
                else
                {
                    findings.Add(Block("TRANSITION.SelfApproval", manifest, active.LocationOf("approved_by"),
                        $"The approver '{approver}' is the {(SamePerson(env.Actor, approver) ? "user running the transition" : "relocation owner")}; someone else must approve (or pass -AllowSelfApproval, recorded in the receipt).",
                        "an approver other than the actor and the owner", approver));
                }
            }
            if (request.ApprovedBy is { } given && !string.Equals(given, active.ApprovedBy, StringComparison.Ordinal))
            {
                edits.Add(new PlannedEdit(manifest.File, YamlEdit.Set("active_relocation.approved_by", given,
                    expected: string.IsNullOrEmpty(active.ApprovedBy) ? YamlEdit.ExpectAbsent : active.ApprovedBy)));
            }
        }

        var policy = manifest.Rollback;
        var needBaseline = policy?.RequiresHealthBaseline == true;
        var needBackup = policy?.RequiresBackupVerification == true;
        if (!needBaseline && !needBackup)
        {
            return;
        }
        var location = policy?.Location;
        if (env.Ledger.ChainProblem(active.ChangeId, manifest.LedgerAnchor) is { } broken)
        {
            findings.Add(Block("TRANSITION.LedgerChainBroken", manifest, manifest.LedgerAnchor is null ? location : manifest.LocationOf(Receipts.LedgerAnchor.ManifestKey),
                $"The receipt ledger's chain is broken ({broken}), so its evidence cannot be trusted. Run Test-RelocationReceiptChain.",
                "an intact receipt chain", broken));
            return;
        }
        var evidence = env.Ledger.LatestPreflight(active.ChangeId);
        var what = string.Join(" and ", new[] { needBaseline ? "a health baseline" : null, needBackup ? "backup verification" : null }.Where(x => x is not null));
        if (evidence is null)
        {
            findings.Add(Block("TRANSITION.PreflightEvidenceMissing", manifest, location,
                $"The manifest's rollback section requires {what} before cutover, and the ledger has no passing preflight receipt for {active.ChangeId}. Run Invoke-RelocationPreflight first.",
                "a passing infra.relocation.preflight receipt", null));
            return;
        }
        if (env.Ledger.Signers.Count > 0 && evidence.Signature != Receipts.ReceiptSignatureStatus.Valid)
        {
            findings.Add(Block("TRANSITION.EvidenceUnsigned", manifest, location,
                $"The latest passing preflight receipt ({evidence.RunId}) is {Receipts.ReceiptSigner.Describe(evidence.Signature)}, and ops/infra-relocation.yaml lists receipts.signers: " +
                $"evidence counts only when one of them signed it. Run Invoke-RelocationPreflight with ${Receipts.ReceiptSigner.KeyVariable} set to a listed key.",
                "a preflight receipt signed by a key receipts.signers lists", evidence.Signature.ToString()));
            return;
        }
        if (policy?.MaxRollbackWindowHours is { } hours && env.Now - evidence.EndedUtc > TimeSpan.FromHours(hours))
        {
            findings.Add(Block("TRANSITION.PreflightEvidenceStale", manifest, location,
                $"The latest passing preflight receipt ({evidence.RunId}, {Timestamp(evidence.EndedUtc)}) is older than the rollback window ({hours:0.##} h). Run Invoke-RelocationPreflight again.",
                $"younger than {hours:0.##} h", Timestamp(evidence.EndedUtc)));
        }
        if (needBaseline)
        {
            var unhealthy = evidence.HealthBaseline.Where(h => !h.Healthy).Select(h => h.Service).ToList();
            if (evidence.HealthBaseline.Count == 0 || unhealthy.Count > 0)
            {
                findings.Add(Block("TRANSITION.HealthBaselineMissing", manifest, location,
                    evidence.HealthBaseline.Count == 0
                        ? $"The preflight receipt {evidence.RunId} has no health baseline (rollback.requires_health_baseline is true)."
                        : $"The health baseline of {evidence.RunId} is not healthy for {string.Join(", ", unhealthy)}.",
                    "a healthy baseline", string.Join(", ", unhealthy)));
            }
        }
        if (needBackup)
        {
            var verified = evidence.BackupVerification.Where(b => b.Verified).Select(b => b.Service).ToHashSet(StringComparer.Ordinal);
            var missing = manifest.Services.Where(s => !string.IsNullOrWhiteSpace(s.BackupTarget) && s.BackupTarget != "null" && !verified.Contains(s.Service)).ToList();
            if (missing.Count > 0)
            {
                findings.Add(Block("TRANSITION.BackupNotVerified", manifest, location,
                    $"rollback.requires_backup_verification is true and the preflight receipt {evidence.RunId} does not verify the backup of {Names(missing)}.",
                    "a verified backup for every service with a backup_target", Names(missing)));
            }
        }
    }

    // ------------------------------------------------------------------------------------------ service status

    public static TransitionPlan PlanService(EstateSnapshot estate, ServiceTransitionRequest request, TransitionEnvironment env)
    {
        var (manifest, file, active) = RequireActive(estate);
        var service = manifest.Services.FirstOrDefault(s => s.Service == request.Service) ?? throw new RelocationException(
            "ServiceNotFound", FailureKind.ObjectNotFound,
            $"The manifest has no service '{request.Service}'. Services: {string.Join(", ", manifest.Services.Select(s => s.Service).Take(30))}.",
            new SourceLocation(file, 1, 1), request.Service);
        var current = service.Status ?? throw new RelocationException("ServiceStatusUnknown", FailureKind.InvalidData,
            $"Service '{service.Service}' has status '{service.StatusText ?? "(missing)"}', not a known status; fix the manifest first.",
            service.LocationOf("status"), service.Service);
        // migrated (the protocol's word) and applied mean the same; write the one the estate already uses.
        var target = ServiceStatusMachine.IsPromoted(request.Target) ? ServiceStatusMachine.PromotedWord(manifest.Services) : request.Target;
        var before = service.StatusText;
        var after = ServiceStatusMachine.Yaml(target);
        if (current == target)
        {
            return new TransitionPlan
            {
                Subject = service.Service, ChangeId = active.ChangeId, Before = before, After = after,
                Summary = $"Service {service.Service} is already {after}; nothing to do.",
            };
        }
        if (!ServiceStatusMachine.IsAllowed(current, target))
        {
            var next = ServiceStatusMachine.AllowedNext(current).Select(ServiceStatusMachine.Yaml).ToList();
            throw new RelocationException("ServiceStatusTransitionNotAllowed", FailureKind.InvalidOperation,
                $"Service '{service.Service}' cannot go from {before} to {after}. Allowed next status(es) from {before}: {(next.Count == 0 ? "none" : string.Join(", ", next))}.",
                service.LocationOf("status"), service.Service);
        }

        var findings = new List<RelocationFinding>();
        var overrides = new List<string>();
        var state = active.State;
        if (ServiceStatusMachine.RequiredStates(target) is { } states && (state is not { } s || !states.Contains(s)))
        {
            findings.Add(Block("TRANSITION.RelocationStateMismatch", manifest, active.LocationOf("state"),
                $"Moving '{service.Service}' to {after} needs the relocation in {string.Join(" or ", states.Select(RelocationStateMachine.Yaml))}; it is {active.StateText ?? "(none)"}.",
                string.Join(" or ", states.Select(RelocationStateMachine.Yaml)), active.StateText, service.Service));
        }
        if (target == ServiceStatus.Cutover && state == RelocationState.Cutover)
        {
            MoveVmGuard(estate, manifest, service, request, env, findings, overrides);
        }
        if (ServiceStatusMachine.RequiresApproval(target) && string.IsNullOrWhiteSpace(active.ApprovedBy))
        {
            findings.Add(Block("TRANSITION.ApprovalMissing", manifest, active.LocationOf("approved_by"),
                $"Moving '{service.Service}' to {after} needs active_relocation.approved_by (set it with Set-RelocationState cutover -ApprovedBy).",
                "an approver", null, service.Service));
        }
        if (ServiceStatusMachine.IsPromoted(target) && !request.ViaPromotion)
        {
            if (request.Force)
            {
                overrides.Add($"'{service.Service}' set to applied without the health-gated promotion (-Force).");
            }
            else
            {
                findings.Add(Block("TRANSITION.PromotionRequired", manifest, service.LocationOf("status"),
                    $"'{service.Service}' becomes applied through Invoke-RelocationPromotion (health-gated); use -Force to record it without probes (e.g. no HTTP endpoint).",
                    "Invoke-RelocationPromotion", null, service.Service));
            }
        }
        if (target == ServiceStatus.RolledBack)
        {
            if (ServiceRules.Blank(service.RollbackTo) is null)
            {
                findings.Add(Block("TRANSITION.RollbackTargetMissing", manifest, service.LocationOf("rollback_to"),
                    $"'{service.Service}' has no rollback_to; it cannot be rolled back.", "a rollback_to host", service.RollbackTo, service.Service));
            }
            RollbackWindow(manifest, service, current, request, env, findings, overrides);
        }

        var edits = new List<PlannedEdit>
        {
            new(file, YamlEdit.Set($"{ServicePath(service)}.status", after, expected: before)),
            new(file, YamlEdit.Set(UpdatedAtPath, Timestamp(env.Now))),
        };
        // The service registry must name the host the new status expects (to_host, or rollback_to when rolled back).
        var expectedHost = ServiceRules.ExpectedHost(service with { Status = target, StatusText = after });
        // A move the registry cannot follow is refused (nothing written), never a manifest-only change.
        if (target != ServiceStatus.Planned && expectedHost is not null)
        {
            RegistryFollows(estate, manifest, service, after, expectedHost, edits, findings);
            if (request.UpdateSsot)
            {
                SsotsFollow(estate, service with { Status = target, StatusText = after }, edits);
            }
        }
        return new TransitionPlan
        {
            Subject = service.Service, ChangeId = active.ChangeId, Before = before, After = after,
            Edits = edits, Findings = findings, Overrides = overrides, OverrideReason = overrides.Count > 0 ? request.ForceReason : null,
            Summary = $"Service {service.Service}: {before} → {after}",
        };
    }

    /// <summary>
    /// Any service moving to cutover while the relocation is in cutover needs the VM targets it lands on as entering
    /// cutover needed the first phase's (provisioned, bootstrapped, <c>ready</c> with a passing readiness receipt newer
    /// than their last change): the same checklist items, evaluated for its phase, the first phase included (the
    /// override of the run that entered cutover stands for that phase's items), or, for a service without a phase, for
    /// the VM target its <c>to_host</c> names. -Force -Reason records the items as overridden warnings; the checklist then
    /// shows a phase's items Overridden by this run (a service without a phase is judged for its own move alone).
    /// </summary>
    private static void MoveVmGuard(EstateSnapshot estate, RelocationManifest manifest, ServiceMove service, ServiceTransitionRequest request,
        TransitionEnvironment env, List<RelocationFinding> findings, List<string> overrides)
    {
        var unmet = ChecklistEvaluator.UnmetVmItems(estate, env.Ledger, service);
        if (unmet.Count == 0)
        {
            return;
        }
        var list = ChecklistEvaluator.Title(ChecklistPhase.PreCutover);
        var (scope, whose) = service.Phase is { } phase
            ? ($"phase {phase}", "for its phase")
            : ("no phase", $"for the VM target it moves to ({service.ToHost})");
        foreach (var item in unmet)
        {
            var message = $"Moving '{service.Service}' ({scope}) to cutover needs the {list} checklist's VM items {whose}: {item.Id} ({item.Title}) is {item.State}: {item.Evidence.TrimEnd('.')}." +
                          (item.Command is { } command ? $" Complete it with: {command}" : "");
            // A phase's override stands for that phase's later moves; a service without a phase records an Expected that
            // no other item's override check accepts, so its override covers this move alone.
            var expected = service.Phase is null ? $"Done for '{service.Service}' (no phase)" : ChecklistEvaluator.OverrideExpected(item);
            var finding = Block(ChecklistEvaluator.IncompleteRule, manifest, service.LocationOf("status"), message, expected, item.State.ToString(), item.Id);
            findings.Add(request.ForceReason is null ? finding : finding with { Severity = FindingSeverity.Warning, Message = $"Overridden (-Force): {message}" });
        }
        if (request.ForceReason is { } reason)
        {
            var of = service.Phase is { } p ? $"of phase {p}" : $"of its VM target {service.ToHost} (no phase)";
            overrides.Add($"Moved '{service.Service}' to cutover with {unmet.Count} {list} item(s) {of} not done ({string.Join(", ", unmet.Select(i => i.Id))}); reason: {reason}");
        }
    }

    /// <summary>
    /// The files a service move may edit besides the manifest: the service registry (its host follows), and with
    /// -UpdateSsot the stack registry and the health bindings. A preview passes them to <see cref="TransitionExecutor.Preview"/>
    /// so that each is parsed once.
    /// </summary>
    public static IReadOnlyList<string> FilesEdited(EstateLayout layout, ServiceTransitionRequest request)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(request);
        EstateFile[] files = request.UpdateSsot ? [EstateFile.ServiceRegistry, EstateFile.StackRegistry, EstateFile.HealthBindings] : [EstateFile.ServiceRegistry];
        return files.Select(f => layout.RelativePath(f).Replace('\\', '/')).ToList();
    }

    private static void RegistryFollows(EstateSnapshot estate, RelocationManifest manifest, ServiceMove service, string after, string expectedHost,
        List<PlannedEdit> edits, List<RelocationFinding> findings)
    {
        var path = estate.Layout.RelativePath(EstateFile.ServiceRegistry);
        var full = estate.Layout.FullPath(EstateFile.ServiceRegistry);
        var at = service.LocationOf("status");
        var needs = $"moving '{service.Service}' to {after} must set its host in {path} to {expectedHost}";
        if (estate.ServiceRegistry is not { } registry)
        {
            findings.Add(Block("TRANSITION.RegistryMissing", manifest, at,
                $"The service registry {path} does not exist (check paths.service_registry in {EstateLayout.ConfigFile}); {needs}.", expectedHost, null, service.Service));
            return;
        }
        if (new FileInfo(full).LinkTarget is { } link)
        {
            findings.Add(Block("TRANSITION.RegistryIsSymlink", manifest, at,
                $"The service registry {path} is a symbolic link (to {link}); writing it would replace the link with a file. Point the configuration at the real file; {needs}.",
                "a regular file", link, service.Service));
            return;
        }
        if (!registry.Services.TryGetValue(service.Service, out var registered) || registered.Host is not { } host)
        {
            findings.Add(Block("TRANSITION.RegistryEntryMissing", manifest, registry.Location ?? new SourceLocation(registry.File, 1, 1),
                $"{registry.File} has no services.{service.Service}.host (or its services are not a mapping); {needs}. Add the entry first.", expectedHost, null, service.Service));
            return;
        }
        if (host == expectedHost)
        {
            return;
        }
        if (!IsPathSafe(service.Service))
        {
            findings.Add(Block("TRANSITION.RegistryEntryNotAddressable", manifest, at,
                $"The service name '{service.Service}' cannot be addressed as a registry key path; {needs}. Edit the registry by hand first.", expectedHost, host, service.Service));
            return;
        }
        edits.Add(new PlannedEdit(registry.File, YamlEdit.Set($"services.{service.Service}.host", expectedHost, expected: host)));
    }

    /// <summary>
    /// -UpdateSsot: the host pointers D35 checks besides the service registry (the stack's deploy_target, the health
    /// endpoint's host) are written in the move's own transaction, so its receipt records their values and the files'
    /// digests before the move: what Invoke-RelocationRollback writes back. A surface that is not one scalar to set
    /// (a missing entry, a device row) stays with the operator; the mutation guard still judges the estate after.
    /// </summary>
    private static void SsotsFollow(EstateSnapshot estate, ServiceMove moved, List<PlannedEdit> edits)
    {
        foreach (var item in ImpactAnalyzer.Check(EstateIndex.For(estate), moved, includePlacement: false, includeSatisfied: false).Select(c => c.Item))
        {
            if (item.Satisfied || item.Surface is not (ParitySurface.StackRegistry or ParitySurface.HealthBindings) || item.CurrentValue is null || item.RequiredValue is null
                || edits.Any(e => e.File == item.File && e.Edit.Path == item.DocumentPath))
            {
                continue;
            }
            edits.Add(new PlannedEdit(item.File, YamlEdit.Set(item.DocumentPath, item.RequiredValue, expected: item.CurrentValue)));
        }
    }

    private static void RollbackWindow(RelocationManifest manifest, ServiceMove service, ServiceStatus current, ServiceTransitionRequest request,
        TransitionEnvironment env, List<RelocationFinding> findings, List<string> overrides)
    {
        if (current is not (ServiceStatus.Cutover or ServiceStatus.Applied or ServiceStatus.Migrated) || manifest.Rollback?.MaxRollbackWindowHours is not { } hours)
        {
            return;
        }
        var since = env.Ledger.LastEntered(service.Service, service.StatusText ?? "", manifest.ActiveRelocation?.ChangeId);
        if (since is null)
        {
            findings.Add(RelocationFinding.Warning("TRANSITION.RollbackWindowUnknown",
                $"The ledger does not say when '{service.Service}' became {service.StatusText}; the {hours:0.##} h rollback window cannot be checked.",
                service.LocationOf("status"), subject: service.Service));
            return;
        }
        var age = env.Now - since.Value;
        if (age <= TimeSpan.FromHours(hours))
        {
            return;
        }
        var text = $"'{service.Service}' became {service.StatusText} at {Timestamp(since.Value)}, {age.TotalHours:0.#} h ago: outside the {hours:0.##} h rollback window (rollback.max_rollback_window_hours).";
        if (request.Force)
        {
            overrides.Add(text + " Rolled back anyway (-Force).");
        }
        else
        {
            findings.Add(Block("TRANSITION.RollbackWindowExpired", manifest, manifest.Rollback?.LocationOf("max_rollback_window_hours"),
                text + " Use -Force to roll back anyway (recorded in the receipt).", $"within {hours:0.##} h", $"{age.TotalHours:0.#} h", service.Service));
        }
    }

    // ------------------------------------------------------------------------------------------ VM target

    public static TransitionPlan PlanVmTarget(EstateSnapshot estate, VmTargetRequest request, TransitionEnvironment env)
    {
        var (manifest, file, active) = RequireActive(estate);
        var vm = manifest.VmTargets.FirstOrDefault(v => v.Hostname == request.Hostname) ?? throw new RelocationException(
            "VmTargetNotFound", FailureKind.ObjectNotFound,
            $"The manifest has no VM target '{request.Hostname}'. VM targets: {string.Join(", ", manifest.VmTargets.Select(v => v.Hostname))}.",
            new SourceLocation(file, 1, 1), request.Hostname);
        if (request.TailscaleIp is { } ts)
        {
            ValidateTailscaleIp(ts);
        }
        if (request.Address is { } address && !IPAddress.TryParse(address, out _))
        {
            throw new RelocationException("InvalidAddress", FailureKind.InvalidArgument, $"'{address}' is not an IPv4 or IPv6 address.", null, address);
        }
        var path = VmTargetPath(vm);
        var edits = new List<PlannedEdit>();
        var findings = new List<RelocationFinding>();
        string? before = vm.StatusText, after = vm.StatusText;
        if (request.Status is { } status)
        {
            after = VmTargetStatusNames.Yaml(status);
            if (after != vm.StatusText)
            {
                edits.Add(new PlannedEdit(file, YamlEdit.Set($"{path}.status", after, expected: vm.StatusText ?? YamlEdit.ExpectAbsent)));
            }
            if (VmTargetStatusNames.NeedsTailscaleIp(status) && string.IsNullOrWhiteSpace(request.TailscaleIp ?? vm.TailscaleIp))
            {
                findings.Add(Block("TRANSITION.TailscaleIpMissing", manifest, vm.LocationOf("tailscale_ip"),
                    $"VM target '{vm.Hostname}' cannot be {after} without a tailscale_ip (pass -TailscaleIp).", "a tailscale IP", null, vm.Hostname));
            }
        }
        if (request.TailscaleIp is { } ip && ip != vm.TailscaleIp)
        {
            edits.Add(new PlannedEdit(file, YamlEdit.Set($"{path}.tailscale_ip", ip, expected: vm.TailscaleIp ?? YamlEdit.ExpectAbsent)));
        }
        if (request.Address is { } addr && addr != vm.Address)
        {
            edits.Add(new PlannedEdit(file, YamlEdit.Set($"{path}.address", addr, expected: vm.Address ?? YamlEdit.ExpectAbsent)));
        }
        if (edits.Count > 0)
        {
            edits.Add(new PlannedEdit(file, YamlEdit.Set(UpdatedAtPath, Timestamp(env.Now))));
        }
        return new TransitionPlan
        {
            Subject = vm.Hostname, ChangeId = active.ChangeId, Before = before, After = after, Edits = edits, Findings = findings,
            Summary = edits.Count == 0 ? $"VM target {vm.Hostname} already says so; nothing to do." : $"VM target {vm.Hostname}: {before ?? "(none)"} → {after ?? "(none)"}",
        };
    }

    /// <summary>Throws <c>InvalidTailscaleIp</c> unless <paramref name="ip"/> is an IPv4 address in 100.64.0.0/10 (Tailscale's CGNAT range).</summary>
    public static void ValidateTailscaleIp(string ip)
    {
        if (!IPAddress.TryParse(ip, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetwork || ip.Count(c => c == '.') != 3)
        {
            throw new RelocationException("InvalidTailscaleIp", FailureKind.InvalidArgument, $"'{ip}' is not an IPv4 address.", null, ip);
        }
        var b = parsed.GetAddressBytes();
        if (b[0] != 100 || (b[1] & 0xC0) != 64)
        {
            throw new RelocationException("InvalidTailscaleIp", FailureKind.InvalidArgument,
                $"'{ip}' is outside Tailscale's address range 100.64.0.0/10 (100.64.0.0 – 100.127.255.255).", null, ip);
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    /// <summary>Document path of a service entry: <c>services[?service=name]</c> (by index when the name has path characters).</summary>
    public static string ServicePath(ServiceMove service) =>
        IsPathSafe(service.Service) ? $"services[?service={service.Service}]" : $"services[{service.Index}]";

    /// <summary>Document path of a VM target entry: <c>vm_targets[?hostname=name]</c> (by index when the name has path characters).</summary>
    public static string VmTargetPath(VmTarget vm) =>
        IsPathSafe(vm.Hostname) ? $"vm_targets[?hostname={vm.Hostname}]" : $"vm_targets[{vm.Index}]";

    private static bool IsPathSafe(string name) => name.Length > 0 && name.IndexOfAny(['.', '[', ']', '=', '?']) < 0;

    private static (RelocationManifest Manifest, string File, ActiveRelocation Active) RequireActive(EstateSnapshot estate)
    {
        var manifest = estate.Manifest ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {estate.Layout.RelativePath(EstateFile.Manifest)} does not exist.", null, estate.Layout.RelativePath(EstateFile.Manifest));
        var active = manifest.ActiveRelocation ?? throw new RelocationException("NoActiveRelocation", FailureKind.InvalidOperation,
            $"{manifest.File} has no active relocation (active_relocation is null or missing); start one with Start-Relocation.",
            new SourceLocation(manifest.File, 1, 1), manifest.File);
        return (manifest, manifest.File, active);
    }

    internal static bool SamePerson(string a, string b) =>
        string.Equals(a.Trim().TrimStart('@'), b.Trim().TrimStart('@'), StringComparison.OrdinalIgnoreCase);

    private static string Names(IEnumerable<ServiceMove> services)
    {
        var list = services.Select(s => $"{s.Service} ({s.StatusText ?? "no status"})").ToList();
        return list.Count <= 8 ? string.Join(", ", list) : string.Join(", ", list.Take(8)) + $" and {list.Count - 8} more";
    }

    private static RelocationFinding Block(string ruleId, RelocationManifest manifest, SourceLocation? location, string message,
        string? expected, string? actual, string? subject = null) =>
        RelocationFinding.Error(ruleId, message, location ?? new SourceLocation(manifest.File, 1, 1), subject: subject ?? manifest.ActiveRelocation?.ChangeId,
            expected: expected, actual: actual);
}
