using System.Globalization;
using System.Text.Json;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Gates;
using InfraRelocation.Model;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Governance;

/// <summary>
/// Evaluates the protocol's Pre-Cutover, Post-Cutover and Post-Cleanup checklists item by item for the active
/// relocation, from the receipts of that relocation (its change id) and the estate as it is. A receipt that read
/// files counts only while those files hold what it read, or what receipted transitions wrote since (each of which
/// passed the mutation guard). See docs/design/checklists.md.
/// </summary>
public static class ChecklistEvaluator
{
    public const string Capability = "infra.relocation.checklist";
    public const string ConfirmCapability = "infra.relocation.checklist.confirm";
    public const string StateCapability = "infra.relocation.state.transition";

    /// <summary>The finding of a state transition refused (or forced) because the checklist it needs is not done.</summary>
    public const string IncompleteRule = "TRANSITION.ChecklistIncomplete";

    /// <summary>
    /// Items the transition itself completes, so they are not required before it: the approval (the cutover
    /// transition records it, and its own guard requires it) and "Manifest state set to complete".
    /// </summary>
    private static readonly HashSet<string> SetByTheTransition = new(StringComparer.Ordinal) { "PRE.Approval", "CLEAN.StateComplete" };

    /// <summary>Every item of <paramref name="phases"/> (all three checklists when null), in the protocol's order.</summary>
    public static IReadOnlyList<ChecklistItem> Evaluate(EstateSnapshot estate, LedgerView ledger, IReadOnlyCollection<ChecklistPhase>? phases = null)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(ledger);
        var manifest = estate.Manifest ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {estate.Layout.RelativePath(EstateFile.Manifest)} does not exist.", null, estate.Layout.RelativePath(EstateFile.Manifest));
        var active = manifest.ActiveRelocation ?? throw new RelocationException("NoActiveRelocation", FailureKind.InvalidOperation,
            $"{manifest.File} has no active relocation (active_relocation is null); the checklists belong to one. Start one with Start-Relocation.",
            new SourceLocation(manifest.File, 1, 1), manifest.File);
        var context = new Context(estate, manifest, active, ledger);
        var items = new List<ChecklistItem>();
        foreach (var phase in Enum.GetValues<ChecklistPhase>())
        {
            if (phases is null || phases.Contains(phase))
            {
                var order = 0;
                items.AddRange(context.Items(phase).Select(i => context.WithOverride(phase, i) with { Phase = phase, Order = ++order, ChangeId = active.ChangeId, EstateRoot = estate.Layout.Root }));
            }
        }
        return items;
    }

    /// <summary>The checklist a state needs before it is entered: cutover the pre-cutover list, cleanup the post-cutover list, complete the post-cleanup list.</summary>
    public static ChecklistPhase? RequiredBefore(RelocationState target) => target switch
    {
        RelocationState.Cutover => ChecklistPhase.PreCutover,
        RelocationState.Cleanup => ChecklistPhase.PostCutover,
        RelocationState.Complete => ChecklistPhase.PostCleanup,
        _ => null,
    };

    /// <summary>The state whose entry needs <paramref name="phase"/>'s list (the inverse of <see cref="RequiredBefore"/>).</summary>
    public static RelocationState Gates(ChecklistPhase phase) => phase switch
    {
        ChecklistPhase.PreCutover => RelocationState.Cutover,
        ChecklistPhase.PostCutover => RelocationState.Cleanup,
        _ => RelocationState.Complete,
    };

    /// <summary>The protocol's name of a checklist: Pre-Cutover, Post-Cutover, Post-Cleanup.</summary>
    public static string Title(ChecklistPhase phase) => phase switch
    {
        ChecklistPhase.PreCutover => "Pre-Cutover",
        ChecklistPhase.PostCutover => "Post-Cutover",
        _ => "Post-Cleanup",
    };

    /// <summary>
    /// The items of the checklist that entering <paramref name="target"/> needs which are neither Done nor Overridden
    /// (empty when the state needs no checklist), without the items the transition itself completes.
    /// </summary>
    public static IReadOnlyList<ChecklistItem> Unmet(EstateSnapshot estate, LedgerView ledger, RelocationState target) =>
        RequiredBefore(target) is { } phase
            ? Evaluate(estate, ledger, [phase]).Where(i => !i.IsDone && !SetByTheTransition.Contains(i.Id)).ToList()
            : [];

    /// <summary>
    /// The items of the checklist that entering <paramref name="target"/> needs which are done on a receipt appended
    /// after the last change (<see cref="ChecklistItem.Unanchored"/>): the evidence that change relies on which the
    /// manifest's ledger_anchor does not seal yet. The transition records them in its receipt and anchors them.
    /// </summary>
    public static IReadOnlyList<ChecklistItem> ReliedOnUnanchored(EstateSnapshot estate, LedgerView ledger, RelocationState target) =>
        RequiredBefore(target) is { } phase
            ? Evaluate(estate, ledger, [phase]).Where(i => i.IsDone && i.Unanchored).ToList()
            : [];

    /// <summary>
    /// The phase being cut over and its VM targets: the lowest <c>phase</c> that still has a service not yet promoted
    /// (migrated/applied), complete or rolled back, and the <c>vm_targets</c> that the <c>to_host</c> of that phase's
    /// services names. No phase (every service finished, or none has a phase) means no VM target.
    /// </summary>
    public static (int? Phase, IReadOnlyList<VmTarget> Targets) PhaseVmTargets(RelocationManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var phase = manifest.Services
            .Where(s => s.Phase is not null && !(s.Status is { } st && (ServiceStatusMachine.IsPromoted(st) || st is ServiceStatus.Complete or ServiceStatus.RolledBack)))
            .Select(s => s.Phase).Min();
        if (phase is null)
        {
            return (null, []);
        }
        return (phase, VmTargetsOf(manifest, phase.Value));
    }

    /// <summary>The <c>vm_targets</c> that the <c>to_host</c> of a service of <paramref name="phase"/> names.</summary>
    public static IReadOnlyList<VmTarget> VmTargetsOf(RelocationManifest manifest, int phase)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var hosts = manifest.Services.Where(s => s.Phase == phase && s.ToHost is not null).Select(s => s.ToHost!).ToHashSet(StringComparer.Ordinal);
        return manifest.VmTargets.Where(v => hosts.Contains(v.Hostname)).ToList();
    }

    /// <summary>The Pre-Cutover items that rest on the VM targets of one phase (provisioned, bootstrapped, ready).</summary>
    public static readonly IReadOnlyList<string> VmItemIds = ["PRE.VmProvisioned", "PRE.VmBootstrapped", "PRE.VmReady"];

    /// <summary>
    /// The VM items (<see cref="VmItemIds"/>) for the VM targets <paramref name="service"/> moves onto, not done (neither
    /// Done nor Overridden by a recorded override of the same items): what any service needs before it moves to cutover
    /// while the relocation is in cutover (see docs/design/checklists.md). A service with a phase needs its phase's VM
    /// targets (the first phase included: entering cutover checked them, or its override stands for them); a service
    /// without a phase needs the VM target its <c>to_host</c> names, judged for that move alone.
    /// </summary>
    public static IReadOnlyList<ChecklistItem> UnmetVmItems(EstateSnapshot estate, LedgerView ledger, ServiceMove service)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(service);
        var manifest = estate.Manifest ?? throw new ArgumentException("The estate has no manifest.", nameof(estate));
        var active = manifest.ActiveRelocation ?? throw new ArgumentException("The manifest has no active relocation.", nameof(estate));
        return Unmet(estate, active, service.Phase is { } phase
            ? new Context(estate, manifest, active, ledger, phase)
            : new Context(estate, manifest, active, ledger, service));
    }

    /// <summary>The VM items for the VM targets of <paramref name="phase"/>, not done (see the overload for a service).</summary>
    public static IReadOnlyList<ChecklistItem> UnmetVmItems(EstateSnapshot estate, LedgerView ledger, int phase)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(ledger);
        var manifest = estate.Manifest ?? throw new ArgumentException("The estate has no manifest.", nameof(estate));
        var active = manifest.ActiveRelocation ?? throw new ArgumentException("The manifest has no active relocation.", nameof(estate));
        return Unmet(estate, active, new Context(estate, manifest, active, ledger, phase));
    }

    private static List<ChecklistItem> Unmet(EstateSnapshot estate, ActiveRelocation active, Context context) =>
        context.VmItems()
            .Select(i => context.WithOverride(ChecklistPhase.PreCutover, i) with { Phase = ChecklistPhase.PreCutover, ChangeId = active.ChangeId, EstateRoot = estate.Layout.Root })
            .Where(i => !i.IsDone).ToList();

    /// <summary>
    /// What an override of a VM item records as expected (the finding's <c>Expected</c>): the phase whose VM targets it
    /// covers, so that it stands for that phase alone. Other items record "Done".
    /// </summary>
    public static string OverrideExpected(ChecklistItem item) => item.VmPhase is { } p ? $"Done for phase {p}" : "Done";

    /// <summary>
    /// What a confirmation of <paramref name="item"/> records besides who and the link: the active relocation's change
    /// id and, for ImpactReviewed, the impact run reviewed (the latest one that still describes the estate). Throws when
    /// the confirmation cannot count: no impact run to review, or old resources and the open loop before cleanup.
    /// </summary>
    public static (string? ChangeId, string? ReviewedRunId) PlanConfirmation(EstateSnapshot estate, LedgerView ledger, ChecklistConfirmation item)
    {
        ArgumentNullException.ThrowIfNull(estate);
        ArgumentNullException.ThrowIfNull(ledger);
        var manifest = estate.Manifest ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {estate.Layout.RelativePath(EstateFile.Manifest)} does not exist.", null, estate.Layout.RelativePath(EstateFile.Manifest));
        var active = manifest.ActiveRelocation ?? throw new RelocationException("NoActiveRelocation", FailureKind.InvalidOperation,
            $"{manifest.File} has no active relocation (active_relocation is null); there is nothing to confirm. Start one with Start-Relocation.",
            new SourceLocation(manifest.File, 1, 1), manifest.File);
        var context = new Context(estate, manifest, active, ledger);
        if (item == ChecklistConfirmation.ImpactReviewed)
        {
            var impact = context.CurrentImpact() ?? throw new RelocationException("ChecklistImpactNotRun", FailureKind.InvalidOperation,
                $"There is no Get-RelocationImpact run of {active.ChangeId} that still describes the estate, so there is no impact to confirm as reviewed. Run Get-RelocationImpact, review it, then confirm.",
                active.LocationOf("change_id"), item.ToString());
            return (active.ChangeId, impact.String("RunId"));
        }
        if (active.State is not (RelocationState.Cleanup or RelocationState.Complete))
        {
            throw new RelocationException("ChecklistConfirmationTooEarly", FailureKind.InvalidOperation,
                $"{item} is a post-cleanup item; the relocation {active.ChangeId} is in {active.StateText ?? "(no state)"}. Confirm it once the relocation is in cleanup.",
                active.LocationOf("state"), item.ToString());
        }
        return (active.ChangeId, null);
    }

    /// <summary>Everything one evaluation reads: the estate, the relocation's receipts (in ledger order) and the chain's health.</summary>
    private sealed class Context
    {
        private readonly EstateSnapshot _estate;
        private readonly RelocationManifest _manifest;
        private readonly ActiveRelocation _active;
        private readonly IReadOnlyList<LedgerEntry> _entries;
        private readonly string? _broken;
        private readonly LedgerView _ledger;
        // The receipt of the last change (the transaction the manifest's ledger_anchor names) and this relocation's
        // receipts after it, which no anchor seals yet. None when the manifest has no anchor or this relocation's receipts
        // lack that change (a broken or cut ledger: the chain check speaks then).
        private readonly LedgerEntry? _lastChange;
        private readonly HashSet<LedgerEntry> _unanchored = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<string, string?> _disk = new(StringComparer.Ordinal);
        private readonly int? _phase;
        private readonly IReadOnlyList<VmTarget> _phaseVms;
        // A service without a phase whose VM target the VM items cover instead of a phase's (null: a phase's).
        private readonly ServiceMove? _unphased;

        /// <param name="phase">The phase whose VM targets the VM items cover; null: the phase being cut over (<see cref="PhaseVmTargets"/>).</param>
        public Context(EstateSnapshot estate, RelocationManifest manifest, ActiveRelocation active, LedgerView ledger, int? phase = null)
        {
            (_phase, _phaseVms) = phase is { } p ? (p, VmTargetsOf(manifest, p)) : PhaseVmTargets(manifest);
            _estate = estate;
            _manifest = manifest;
            _active = active;
            _entries = ledger.Relocation(active.ChangeId);
            _broken = ledger.ChainProblem(active.ChangeId);
            _ledger = ledger;
            var tx = LedgerAnchor.Parse(manifest.LedgerAnchor)?.TransactionId;
            var last = tx is null ? -1 : LatestIndex(e => e.String("TransactionId") == tx, 0);
            if (last >= 0)
            {
                _lastChange = _entries[last];
                _unanchored.UnionWith(_entries.Skip(last + 1));
            }
        }

        /// <summary>The VM items cover the VM target that <paramref name="unphased"/> (a service without a phase) moves to.</summary>
        public Context(EstateSnapshot estate, RelocationManifest manifest, ActiveRelocation active, LedgerView ledger, ServiceMove unphased)
            : this(estate, manifest, active, ledger)
        {
            _phase = null;
            _unphased = unphased;
            _phaseVms = manifest.VmTargets.Where(v => v.Hostname == unphased.ToHost).ToList();
        }

        public IEnumerable<ChecklistItem> Items(ChecklistPhase phase) => phase switch
        {
            ChecklistPhase.PreCutover => PreCutover(),
            ChecklistPhase.PostCutover => PostCutover(),
            _ => PostCleanup(),
        };

        /// <summary>
        /// <paramref name="item"/>, or Overridden when the run that entered the state its list gates went ahead without
        /// it by -Force -Reason (its receipt names the item) and the relocation has not stepped back since.
        /// </summary>
        public ChecklistItem WithOverride(ChecklistPhase phase, ChecklistItem item)
        {
            var state = RelocationStateMachine.Yaml(Gates(phase));
            if (item.IsDone || _active.StateText is not { } now || !(now == state || Past(now, state)))
            {
                return item;
            }
            var index = LatestIndex(e => IsStateEntry(e, state), 0);
            if (index >= 0 && _entries[index] is var entry && entry.String("OverrideReason") is { } reason && Names(entry, item))
            {
                return Item(item.Id, item.Title, ChecklistItemState.Overridden,
                    $"Run {Run(entry)} entered {state} without it by override (-Force): {reason}. Now: {item.Evidence}", null, entry) with { VmPhase = item.VmPhase };
            }
            // A phase's VM items: overridden by a service move of that phase into cutover (-Force -Reason) since the entry,
            // or since the relocation began when it reached the state with no recorded entry (a hand edit).
            var moved = item.VmPhase is null ? null
                : Latest(e => e.Capability == LedgerView.ServiceCapability && IsSucceeded(e) && e.String("OverrideReason") is not null && Names(e, item), index + 1);
            return moved is null ? item
                : Item(item.Id, item.Title, ChecklistItemState.Overridden,
                    $"Run {Run(moved)} moved {moved.String("Service")} to {moved.String("After")} without it by override (-Force): {moved.String("OverrideReason")}. Now: {item.Evidence}", null, moved)
                  with { VmPhase = item.VmPhase };
        }

        /// <summary>
        /// True when <paramref name="entry"/>'s findings name <paramref name="item"/> as not done; for a VM item, for the
        /// same phase (receipts from before the phase was recorded say "Done" and count for any phase).
        /// </summary>
        private static bool Names(LedgerEntry entry, ChecklistItem item) =>
            entry.Receipt.TryGetProperty("Findings", out var findings) && findings.ValueKind == JsonValueKind.Array
            && findings.EnumerateArray().Any(f => f.ValueKind == JsonValueKind.Object && Str(f, "RuleId") == IncompleteRule && Str(f, "Subject") == item.Id
                                                  && (Str(f, "Expected") is "Done" or "" || Str(f, "Expected") == OverrideExpected(item)));

        /// <summary>The latest impact run of this relocation that still describes the estate.</summary>
        public LedgerEntry? CurrentImpact() => LatestCurrent(e => e.Capability == "infra.relocation.impact" && IsRun(e), 0, out _);

        // ---------------------------------------------------------------------------------------------- the lists

        private IEnumerable<ChecklistItem> PreCutover()
        {
            yield return ManifestComplete();
            yield return ImpactReviewed();
            yield return Check("PRE.PlacementPolicy", "Placement policy passes (infra.placement.policy)", "infra.placement.policy", "Test-PlacementPolicy", 0);
            yield return Check("PRE.HypervisorIdentity", "Hypervisor identity passes (infra.hypervisor.identity)", "infra.hypervisor.identity", "Test-HypervisorIdentity -Live", 0);
            yield return Check("PRE.Preflight", "Preflight receipt captured (infra.relocation.preflight)", LedgerView.PreflightCapability, "Invoke-RelocationPreflight", 0);
            yield return Check("PRE.Parity", "Parity passes (infra.relocation.parity: D35 + D37)", "infra.relocation.parity", "Invoke-RelocationParity", 0);
            foreach (var item in VmItems())
            {
                yield return item;
            }
            yield return StateEntered("PRE.StatePreflight", "State transitioned to preflight", "preflight", "Set-RelocationState -State preflight");
            yield return BackupsVerified();
            yield return Approval();
        }

        /// <summary>The items that rest on the VM targets of the phase (<see cref="VmItemIds"/>, in that order), each naming the phase.</summary>
        public IEnumerable<ChecklistItem> VmItems()
        {
            yield return PerVm("PRE.VmProvisioned", "VM targets provisioned (infra.vm.provision)", "infra.vm.provision", "Target", ["Succeeded", "Unchanged"], "New-ProxmoxVm -Hostname") with { VmPhase = _phase };
            yield return PerVm("PRE.VmBootstrapped", "VM targets bootstrapped (infra.vm.bootstrap)", "infra.vm.bootstrap", "Hostname", ["Succeeded", "Unchanged"], "Initialize-RelocationVm -Hostname") with { VmPhase = _phase };
            yield return VmReady() with { VmPhase = _phase };
        }

        private IEnumerable<ChecklistItem> PostCutover()
        {
            var since = Entered("cutover");
            var why = since < 0 ? "the relocation has not entered cutover through Set-RelocationState" : null;
            yield return Check("POST.SsotUpdated", "All SSOTs updated for new service locations (Get-RelocationImpact: nothing pending)", "infra.relocation.impact", "Get-RelocationImpact", since, why, SsotPending);
            yield return Check("POST.HypervisorIdentity", "Hypervisor identity passes after cutover", "infra.hypervisor.identity", "Test-HypervisorIdentity -Live", since, why);
            yield return Check("POST.Parity", "Parity passes after cutover (D35 + D37)", "infra.relocation.parity", "Invoke-RelocationParity", since, why);
            yield return Health(since, why);
            yield return Check("POST.Gate", "Final verification passes (Invoke-RelocationGate: D34-D37 all green)", "infra.relocation.gate", "Invoke-RelocationGate", since, why);
        }

        private IEnumerable<ChecklistItem> PostCleanup()
        {
            var since = Entered("cleanup");
            var why = since < 0 ? "the relocation has not entered cleanup through Set-RelocationState" : null;
            yield return Confirmed("CLEAN.Decommissioned", "Old resources decommissioned", ChecklistConfirmation.OldResourcesDecommissioned, since, why);
            yield return StateEntered("CLEAN.StateComplete", "Manifest state set to complete", "complete", "Set-RelocationState -State complete");
            yield return Confirmed("CLEAN.OpenLoopClosed", "Open loop closed with evidence", ChecklistConfirmation.OpenLoopClosed, since, why);
        }

        // ---------------------------------------------------------------------------------------------- items

        private ChecklistItem ManifestComplete()
        {
            const string id = "PRE.ManifestComplete", title = "Manifest complete with all services and phases";
            var schema = _estate.ValidationFindings.FirstOrDefault(f => f.Severity == FindingSeverity.Error && f.Location?.File == _manifest.File);
            if (schema is not null)
            {
                return Item(id, title, ChecklistItemState.Failed, schema.ToString(), "Test-RelocationManifest");
            }
            if (_manifest.Services.Count == 0)
            {
                return Item(id, title, ChecklistItemState.Missing, $"{_manifest.File} lists no services.", "Add the services to the manifest, then Test-RelocationManifest");
            }
            var noPhase = _manifest.Services.FirstOrDefault(s => s.Phase is null);
            if (noPhase is not null)
            {
                return Item(id, title, ChecklistItemState.Missing, $"Service {noPhase.Service} has no phase ({noPhase.Location?.ToString() ?? _manifest.File}).", "Set its phase, then Test-RelocationManifest");
            }
            var phases = _manifest.Services.Select(s => s.Phase!.Value).Distinct().Order().ToList();
            return Item(id, title, ChecklistItemState.Done,
                $"{_manifest.Services.Count} service(s) in phase(s) {string.Join(", ", phases)}, {_manifest.VmTargets.Count} VM target(s); the manifest passes the schema.", null);
        }

        private ChecklistItem ImpactReviewed()
        {
            const string id = "PRE.ImpactReviewed", title = "Relocation impact reviewed (infra.relocation.impact)";
            var impact = LatestCurrent(e => e.Capability == "infra.relocation.impact" && IsRun(e), 0, out var stale);
            if (impact is null)
            {
                return Item(id, title, ChecklistItemState.Missing, stale ?? "No Get-RelocationImpact receipt of this relocation.", "Get-RelocationImpact");
            }
            var review = Latest(e => e.Capability == ConfirmCapability && IsSucceeded(e) && e.String("Item") == nameof(ChecklistConfirmation.ImpactReviewed), 0);
            var confirm = ConfirmCommand(ChecklistConfirmation.ImpactReviewed);
            if (review is null)
            {
                return Item(id, title, ChecklistItemState.Missing, $"Impact run {Run(impact)} is not confirmed as reviewed.", confirm);
            }
            var reviewed = review.String("ReviewedRunId");
            var reviewedEntry = _entries.FirstOrDefault(e => e.String("RunId") == reviewed);
            if (reviewedEntry is null || Stale(reviewedEntry) is { } changed)
            {
                return Item(id, title, ChecklistItemState.Missing,
                    $"The review {Run(review)} covered impact run {reviewed ?? "(none)"}, which no longer describes the estate; review impact run {Run(impact)}.", confirm);
            }
            return Item(id, title, ChecklistItemState.Done,
                $"Reviewed by {review.String("ConfirmedBy")} ({Run(review)}) on impact run {reviewed}; evidence: {review.String("Evidence")}", null, review);
        }

        /// <summary>A read capability's latest receipt since <paramref name="since"/>: Passed = Done, Failed = Failed.</summary>
        private ChecklistItem Check(string id, string title, string capability, string command, int since, string? notYet = null,
            Func<LedgerEntry, string?>? extraProblem = null)
        {
            if (notYet is not null)
            {
                return Item(id, title, ChecklistItemState.Missing, notYet + ".", command);
            }
            if (since < 0)
            {
                since = 0;
            }
            var entry = LatestCurrent(e => e.Capability == capability && IsRun(e), since, out var stale);
            if (entry is null)
            {
                return Item(id, title, ChecklistItemState.Missing, stale ?? $"No {capability} receipt of this relocation{(since > 0 ? " since that step" : "")}.", command);
            }
            if (entry.String("Outcome") != "Passed")
            {
                return Item(id, title, ChecklistItemState.Failed, $"Run {Run(entry)} {entry.String("Outcome")?.ToLowerInvariant()}: {FirstError(entry)}", command, entry);
            }
            if (extraProblem?.Invoke(entry) is { } problem)
            {
                return Item(id, title, ChecklistItemState.Failed, $"Run {Run(entry)}: {problem}", command, entry);
            }
            return Item(id, title, ChecklistItemState.Done, $"Run {Run(entry)} passed.", null, entry);
        }

        private static string? SsotPending(LedgerEntry impact)
        {
            if (!impact.Receipt.TryGetProperty("Items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            var pending = items.EnumerateArray()
                .Where(i => i.ValueKind == JsonValueKind.Object && i.TryGetProperty("Satisfied", out var s) && s.ValueKind == JsonValueKind.False)
                .Select(i => $"{Str(i, "Service")} {Str(i, "Surface")} ({Str(i, "File")})").ToList();
            return pending.Count == 0 ? null : $"{pending.Count} SSOT update(s) pending: {string.Join(", ", pending.Take(5))}{(pending.Count > 5 ? ", …" : "")}";
        }

        /// <summary>One receipt per VM target: the latest run of <paramref name="capability"/> naming it.</summary>
        private ChecklistItem PerVm(string id, string title, string capability, string hostProperty, string[] done, string command) =>
            EachPhaseVm(id, title, vm =>
            {
                var entry = Latest(e => e.Capability == capability && e.String(hostProperty) == vm.Hostname && e.String("Mode") == "Execute"
                                        && e.String("Outcome") is not ("Previewed" or "Blocked"), 0);
                if (entry is not null && done.Contains(entry.String("Outcome")) && Unsigned(entry) is { } unsigned)
                {
                    return (ChecklistItemState.Missing, unsigned, $"{command} {vm.Hostname}", null);
                }
                if (entry is not null && done.Contains(entry.String("Outcome")))
                {
                    return (ChecklistItemState.Done, Run(entry), null, entry);
                }
                return entry is not null
                    ? (ChecklistItemState.Failed, $"run {Run(entry)} {entry.String("Outcome")?.ToLowerInvariant()}", $"{command} {vm.Hostname}", null)
                    : (ChecklistItemState.Missing, "no receipt", $"{command} {vm.Hostname}", null);
            });

        /// <summary>
        /// An item over each VM target of the phase being cut over: <paramref name="check"/> says what one VM's state is, the
        /// text after its hostname, the command that would fix it (when not done) and its evidence (when done). The item is the
        /// worst state, the first fix and the newest evidence; done when the phase needs no VM.
        /// </summary>
        private ChecklistItem EachPhaseVm(string id, string title,
            Func<VmTarget, (ChecklistItemState State, string Text, string? Next, LedgerEntry? Evidence)> check)
        {
            if (NoPhaseVms() is { } none)
            {
                return Item(id, title, ChecklistItemState.Done, none, null);
            }
            var parts = new List<string>();
            var state = ChecklistItemState.Done;
            string? next = null;
            LedgerEntry? newest = null;
            foreach (var vm in _phaseVms)
            {
                var (vmState, text, fix, evidence) = check(vm);
                parts.Add($"{vm.Hostname}: {text}");
                if (vmState == ChecklistItemState.Done)
                {
                    newest = Newer(newest, evidence);
                    continue;
                }
                state = Worse(state, vmState);
                next ??= fix;
            }
            return Item(id, title, state, PhasePrefix() + string.Join("; ", parts), next, newest);
        }

        /// <summary>Why no VM target of the phase being cut over needs evidence; null when some do.</summary>
        private string? NoPhaseVms() =>
            _phaseVms.Count > 0 ? null
            : _unphased is { } u ? $"'{u.Service}' has no phase and moves to {u.ToHost ?? "(no to_host)"}, which is not a VM target of the manifest."
            : _phase is { } p ? $"No service of phase {p} (the phase being cut over) moves to a VM target of the manifest."
            : "No service is left to cut over, so no VM target is needed.";

        private string PhasePrefix() => _unphased is { } u ? $"'{u.Service}' (no phase): " : $"Phase {_phase}: ";

        /// <summary>
        /// Each VM target of the phase being cut over (<see cref="PhaseVmTargets"/>): status <c>ready</c>, and its latest
        /// readiness run passing and newer than the VM's last change (provisioning, bootstrap). The cutover guard uses this item.
        /// </summary>
        private ChecklistItem VmReady() =>
            EachPhaseVm("PRE.VmReady", "VM readiness passes (infra.vm.ready.status) and the VM target is ready", vm =>
            {
                var (ok, problem, entry) = Readiness(vm);
                if (ok && vm.Status == VmTargetStatus.Ready)
                {
                    return (ChecklistItemState.Done, $"ready, {Run(entry!)}", null, entry);
                }
                if (ok)
                {
                    return (ChecklistItemState.Missing, $"readiness {Run(entry!)} passed, but its status is {vm.StatusText ?? "(none)"}, not ready",
                        $"Set-RelocationVmTarget -Hostname {vm.Hostname} -Status ready", null);
                }
                return (entry is not null && entry.String("Outcome") == "Failed" ? ChecklistItemState.Failed : ChecklistItemState.Missing, problem,
                    $"Get-VmReadiness -Hostname {vm.Hostname}", null);
            });

        /// <summary>Whether <paramref name="vm"/> has a passing readiness receipt newer than its last change; else why not.</summary>
        public (bool Ok, string Problem, LedgerEntry? Entry) Readiness(VmTarget vm)
        {
            var index = LatestIndex(e => e.Capability == "infra.vm.ready.status" && e.String("Hostname") == vm.Hostname && IsRun(e), 0);
            if (index < 0)
            {
                return (false, "no readiness receipt", null);
            }
            var entry = _entries[index];
            if (entry.String("Outcome") != "Passed")
            {
                return (false, $"run {Run(entry)} {entry.String("Outcome")?.ToLowerInvariant()}: {FirstError(entry)}", entry);
            }
            var change = LatestIndex(e => e.Capability is "infra.vm.provision" or "infra.vm.bootstrap" && e.String("Mode") == "Execute" && e.String("Outcome") == "Succeeded"
                                          && (e.String("Target") == vm.Hostname || e.String("Hostname") == vm.Hostname), 0);
            if (change > index)
            {
                return (false, $"run {Run(entry)} predates the VM's last change ({Run(_entries[change])})", entry);
            }
            if (Stale(entry) is { } stale)
            {
                return (false, $"run {Run(entry)} read files that changed since: {stale}", entry);
            }
            if (Unsigned(entry) is { } unsigned)
            {
                return (false, unsigned, entry);
            }
            return (true, "", entry);
        }

        private ChecklistItem StateEntered(string id, string title, string state, string command)
        {
            var index = LatestIndex(e => IsStateEntry(e, state), 0);
            if (index < 0)
            {
                var now = _active.StateText ?? "(none)";
                var evidence = now == state || Past(now, state)
                    ? $"The manifest says {now}, but no Set-RelocationState receipt of this relocation set {state} (a hand edit, or a ledger from elsewhere)."
                    : $"The relocation is in {now}.";
                return Item(id, title, ChecklistItemState.Missing, evidence, command);
            }
            var entry = _entries[index];
            var reason = entry.String("OverrideReason");
            return reason is null
                ? Item(id, title, ChecklistItemState.Done, $"Run {Run(entry)} set {state}.", null, entry)
                : Item(id, title, ChecklistItemState.Overridden, $"Run {Run(entry)} set {state} by override (-Force): {reason}", null, entry);
        }

        private ChecklistItem BackupsVerified()
        {
            const string id = "PRE.BackupsVerified", title = "Backups verified for services with backup_target";
            var withBackup = _manifest.Services.Where(s => !string.IsNullOrWhiteSpace(s.BackupTarget) && s.BackupTarget != "null").ToList();
            if (withBackup.Count == 0)
            {
                return Item(id, title, ChecklistItemState.Done, "No service has a backup_target.", null);
            }
            var entry = LatestCurrent(e => e.Capability == LedgerView.PreflightCapability && IsRun(e), 0, out var stale);
            if (entry is null)
            {
                return Item(id, title, ChecklistItemState.Missing, stale ?? "No preflight receipt of this relocation (it verifies the backups).", "Invoke-RelocationPreflight");
            }
            var verified = new HashSet<string>(StringComparer.Ordinal);
            if (entry.Receipt.TryGetProperty("BackupVerification", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var b in list.EnumerateArray())
                {
                    if (b.ValueKind == JsonValueKind.Object && b.TryGetProperty("Verified", out var v) && v.ValueKind == JsonValueKind.True)
                    {
                        verified.Add(Str(b, "Service"));
                    }
                }
            }
            var missing = withBackup.Where(s => !verified.Contains(s.Service)).Select(s => s.Service).ToList();
            return missing.Count == 0
                ? Item(id, title, ChecklistItemState.Done, $"Run {Run(entry)} verified {withBackup.Count} backup(s).", null, entry)
                : Item(id, title, ChecklistItemState.Failed, $"Run {Run(entry)} did not verify the backup of {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", …" : "")}.", "Invoke-RelocationPreflight", entry);
        }

        private ChecklistItem Approval()
        {
            const string id = "PRE.Approval", title = "Approval documented in approved_by";
            var command = "Set-RelocationState -State cutover -ApprovedBy '<approver>'";
            if (string.IsNullOrWhiteSpace(_active.ApprovedBy) || _active.ApprovedBy == "null")
            {
                return Item(id, title, ChecklistItemState.Missing, "active_relocation.approved_by is empty; the cutover transition records it.", command);
            }
            var set = HandEditGate.LastSet(LedgerOf(_entries), _active.ChangeId, _manifest.File);
            if (set.TryGetValue(TransitionPlanner.ApprovedByPath, out var last) && last.Value == _active.ApprovedBy)
            {
                return Item(id, title, ChecklistItemState.Done, $"approved_by {_active.ApprovedBy}, recorded by run {Run(last.Receipt)}.", null, last.Receipt);
            }
            return Item(id, title, ChecklistItemState.Missing,
                $"approved_by is {_active.ApprovedBy} at {_active.LocationOf("approved_by")?.ToString() ?? _manifest.File}, but no receipt recorded it (a free edit).", command);
        }

        /// <summary>Every service past cutover: promoted through its health probes (Done), or set by override (Overridden).</summary>
        private ChecklistItem Health(int since, string? notYet)
        {
            const string id = "POST.Health", title = "Health checks passing on new hosts (Invoke-RelocationPromotion)";
            if (notYet is not null)
            {
                return Item(id, title, ChecklistItemState.Missing, notYet + ".", "Invoke-RelocationPromotion -Service <service>");
            }
            var moved = _manifest.Services.Where(s => s.Status is ServiceStatus.Cutover or ServiceStatus.Shadow
                || (s.Status is { } st && (ServiceStatusMachine.IsPromoted(st) || st == ServiceStatus.Complete))).ToList();
            if (moved.Count == 0)
            {
                return Item(id, title, ChecklistItemState.Missing, "No service has moved to its new host yet.", "Set-RelocationServiceStatus -Status cutover");
            }
            var parts = new List<string>();
            var state = ChecklistItemState.Done;
            string? next = null;
            LedgerEntry? newest = null;
            foreach (var s in moved)
            {
                if (s.Status is ServiceStatus.Cutover or ServiceStatus.Shadow)
                {
                    state = Worse(state, ChecklistItemState.Missing);
                    parts.Add($"{s.Service}: {s.StatusText}, not promoted");
                    next ??= $"Invoke-RelocationPromotion -Service {s.Service}";
                    continue;
                }
                var promoted = Latest(e => e.Service(s.Service) && e.String("Mode") == "Execute" && e.String("Outcome") == "Succeeded"
                    && (e.Capability == LedgerView.PromotionCapability || (e.Capability == LedgerView.ServiceCapability && e.String("OverrideReason") is not null))
                    && e.String("After") is { } after && ServiceStatusMachine.Parse(after) is { } a && ServiceStatusMachine.IsPromoted(a), 0);
                if (promoted is not null && Unsigned(promoted) is { } unsigned)
                {
                    state = Worse(state, ChecklistItemState.Missing);
                    parts.Add($"{s.Service}: {unsigned}");
                    next ??= $"Invoke-RelocationPromotion -Service {s.Service}";
                    continue;
                }
                if (promoted is null)
                {
                    state = Worse(state, ChecklistItemState.Missing);
                    parts.Add($"{s.Service}: {s.StatusText}, no promotion receipt");
                    next ??= $"Invoke-RelocationPromotion -Service {s.Service}";
                }
                else if (promoted.Capability == LedgerView.PromotionCapability)
                {
                    parts.Add($"{s.Service}: {Run(promoted)}");
                }
                else
                {
                    state = Worse(state, ChecklistItemState.Overridden);
                    parts.Add($"{s.Service}: promoted without probes by override ({Run(promoted)}: {promoted.String("OverrideReason")})");
                }
                newest = Newer(newest, promoted);
            }
            return Item(id, title, state, string.Join("; ", parts), next, newest);
        }

        private ChecklistItem Confirmed(string id, string title, ChecklistConfirmation what, int since, string? notYet)
        {
            var command = ConfirmCommand(what);
            if (notYet is not null)
            {
                return Item(id, title, ChecklistItemState.Missing, notYet + ".", command);
            }
            var entry = Latest(e => e.Capability == ConfirmCapability && IsSucceeded(e) && e.String("Item") == what.ToString(), since);
            return entry is null
                ? Item(id, title, ChecklistItemState.Missing, "Not confirmed yet (a person confirms it, with the evidence link).", command)
                : Item(id, title, ChecklistItemState.Done, $"Confirmed by {entry.String("ConfirmedBy")} ({Run(entry)}); evidence: {entry.String("Evidence")}", null, entry);
        }

        // ---------------------------------------------------------------------------------------------- evidence

        private ChecklistItem Item(string id, string title, ChecklistItemState state, string evidence, string? command, LedgerEntry? entry = null)
        {
            if (_broken is not null && entry is not null && state is ChecklistItemState.Done or ChecklistItemState.Overridden)
            {
                // Evidence from a ledger whose chain is broken cannot be trusted.
                return new ChecklistItem
                {
                    Id = id, Title = title, State = ChecklistItemState.Failed,
                    Evidence = $"The receipt ledger's chain is broken ({_broken}); its evidence cannot be trusted.", Command = "Test-RelocationReceiptChain",
                };
            }
            if (entry is not null && state is ChecklistItemState.Done or ChecklistItemState.Overridden && Unsigned(entry) is { } unsigned)
            {
                return new ChecklistItem { Id = id, Title = title, State = ChecklistItemState.Missing, Evidence = unsigned, Command = command ?? "Test-RelocationReceiptChain" };
            }
            // Appended after the last change: only the chain (and signatures, when the estate lists signers) vouch for it
            // until the next change anchors it. Still evidence (a read-only run is always unanchored at first), but named.
            var unanchored = entry is not null && _unanchored.Contains(entry);
            if (unanchored)
            {
                evidence = $"{evidence.TrimEnd()} Not yet anchored: appended after the last change (run {_lastChange!.String("RunId")}); the next change anchors it.";
            }
            return new ChecklistItem
            {
                Id = id, Title = title, State = state, Evidence = evidence, Command = command, Unanchored = unanchored,
                RunId = entry?.String("RunId"), EvidenceUtc = entry is null ? null : entry.Time("EndedUtc") ?? entry.Time("StartedUtc"),
            };
        }

        /// <summary>
        /// Null when <paramref name="entry"/> can be evidence: the estate lists no <c>receipts.signers</c>, or a listed key
        /// signed it. Else why not: hashes need no secret, so an unsigned receipt appended by hand cannot be told from a real one.
        /// </summary>
        private string? Unsigned(LedgerEntry entry)
        {
            if (_ledger.Signers.Count == 0)
            {
                return null;
            }
            var (status, _) = _ledger.SignatureOf(entry);
            return status == Receipts.ReceiptSignatureStatus.Valid ? null
                : $"Run {Run(entry)} ({entry.Capability}) is {Receipts.ReceiptSigner.Describe(status)}, and {EstateLayout.ConfigFile} lists receipts.signers: " +
                  $"evidence counts only when one of them signed it. Run it again with ${Receipts.ReceiptSigner.KeyVariable} set to a listed key.";
        }

        private static string ConfirmCommand(ChecklistConfirmation what) =>
            $"Confirm-RelocationChecklistItem -Item {what} -ConfirmedBy '<who>' -Evidence '<link>'";

        private static bool IsRun(LedgerEntry e) => e.String("Mode") != "Preview" && e.String("Outcome") is not ("Previewed" or "Blocked" or "Cancelled");

        private static bool IsSucceeded(LedgerEntry e) => e.String("Mode") == "Execute" && e.String("Outcome") == "Succeeded";

        private bool IsStateEntry(LedgerEntry e, string state) =>
            e.Capability == StateCapability && IsSucceeded(e) && e.String("After") == state && !IsTrue(e, "Rollback");

        /// <summary>The index of the receipt that last entered <paramref name="state"/>; -1 when none did.</summary>
        private int Entered(string state) => LatestIndex(e => IsStateEntry(e, state), 0);

        private static bool Past(string now, string state) =>
            RelocationStateMachine.Parse(now) is { } n && RelocationStateMachine.Parse(state) is { } s && n > s;

        private static bool IsTrue(LedgerEntry e, string property) =>
            e.Receipt.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.True;

        /// <summary>A receipt counts only for the relocation it names (receipts that name none count within its stretch of the ledger).</summary>
        private bool Ours(LedgerEntry e) => e.ChangeId is null || string.Equals(e.ChangeId, _active.ChangeId, StringComparison.Ordinal);

        private int LatestIndex(Func<LedgerEntry, bool> match, int since)
        {
            for (var i = _entries.Count - 1; i >= Math.Max(0, since); i--)
            {
                if (Ours(_entries[i]) && match(_entries[i]))
                {
                    return i;
                }
            }
            return -1;
        }

        private LedgerEntry? Latest(Func<LedgerEntry, bool> match, int since) => LatestIndex(match, since) is var i and >= 0 ? _entries[i] : null;

        /// <summary>The latest matching receipt if it still describes the estate; else null, with why in <paramref name="stale"/>.</summary>
        private LedgerEntry? LatestCurrent(Func<LedgerEntry, bool> match, int since, out string? stale)
        {
            stale = null;
            var entry = Latest(match, since);
            if (entry is not null && Stale(entry) is { } changed)
            {
                stale = $"The latest run {Run(entry)} read files that changed since: {changed}.";
                return null;
            }
            return entry;
        }

        /// <summary>
        /// Null when every file <paramref name="entry"/> read still holds what it read, or what Succeeded receipted
        /// writes after it made of that content (each of them passed the mutation guard); else the first file that differs.
        /// </summary>
        public string? Stale(LedgerEntry entry)
        {
            if (!entry.Receipt.TryGetProperty("InputDigests", out var inputs) || inputs.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var start = IndexOf(entry);
            foreach (var input in inputs.EnumerateObject())
            {
                var digest = input.Value.GetString();
                for (var i = start + 1; i < _entries.Count && start >= 0; i++)
                {
                    foreach (var written in Written(_entries[i]))
                    {
                        if (written.Path == input.Name && written.Old == digest)
                        {
                            digest = written.New;
                        }
                    }
                }
                if (!string.Equals(digest, Current(input.Name), StringComparison.Ordinal))
                {
                    return $"{input.Name} (after run {entry.String("RunId")})";
                }
            }
            return null;
        }

        private int IndexOf(LedgerEntry entry)
        {
            for (var i = _entries.Count - 1; i >= 0; i--)
            {
                if (ReferenceEquals(_entries[i], entry))
                {
                    return i;
                }
            }
            return -1;
        }

        private IEnumerable<(string Path, string? Old, string? New)> Written(LedgerEntry e)
        {
            // A receipt that cannot be evidence cannot vouch for a write either (it would launder a hand edit).
            if (!IsSucceeded(e) || Unsigned(e) is not null || !e.Receipt.TryGetProperty("Files", out var files) || files.ValueKind != JsonValueKind.Array)
            {
                yield break;
            }
            foreach (var f in files.EnumerateArray())
            {
                if (f.ValueKind == JsonValueKind.Object)
                {
                    yield return (Str(f, "Path"), f.TryGetProperty("OldSha256", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null, Str(f, "NewSha256"));
                }
            }
        }

        /// <summary>The file's digest now: the loader's when it read the file, else read from disk (null when it does not exist).</summary>
        private string? Current(string relative)
        {
            if (_estate.InputDigests.TryGetValue(relative, out var digest))
            {
                return digest;
            }
            if (!_disk.TryGetValue(relative, out digest))
            {
                var full = Path.GetFullPath(Path.Combine(_estate.Layout.Root, relative));
                digest = full.StartsWith(Path.GetFullPath(_estate.Layout.Root), StringComparison.Ordinal) && File.Exists(full)
                    ? Digest.Sha256Hex(File.ReadAllBytes(full))
                    : null;
                _disk[relative] = digest;
            }
            return digest;
        }

        private static LedgerView LedgerOf(IReadOnlyList<LedgerEntry> entries) => new(entries);

        private static LedgerEntry? Newer(LedgerEntry? a, LedgerEntry? b) =>
            a is null ? b : b is null ? a : (b.Time("EndedUtc") ?? DateTimeOffset.MinValue) >= (a.Time("EndedUtc") ?? DateTimeOffset.MinValue) ? b : a;

        private static ChecklistItemState Worse(ChecklistItemState a, ChecklistItemState b) => Rank(b) > Rank(a) ? b : a;

        private static int Rank(ChecklistItemState s) => s switch
        {
            ChecklistItemState.Failed => 3,
            ChecklistItemState.Missing => 2,
            ChecklistItemState.Overridden => 1,
            _ => 0,
        };

        private static string Run(LedgerEntry e)
        {
            var when = e.Time("EndedUtc") ?? e.Time("StartedUtc");
            return $"{e.String("RunId")}{(when is { } t ? " at " + t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "")}";
        }

        private static string FirstError(LedgerEntry e)
        {
            if (e.Receipt.TryGetProperty("Findings", out var findings) && findings.ValueKind == JsonValueKind.Array)
            {
                foreach (var f in findings.EnumerateArray())
                {
                    if (f.ValueKind == JsonValueKind.Object && Str(f, "Severity") == "Error")
                    {
                        return $"{Str(f, "RuleId")}: {Str(f, "Message")}";
                    }
                }
            }
            return e.String("Summary") ?? "(no finding recorded)";
        }
    }

    private static string Str(JsonElement item, string name) =>
        item.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() ?? "" : "";

    private static bool Service(this LedgerEntry e, string service) => e.String("Service") == service;
}
