using System.Globalization;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Model;
using InfraRelocation.Receipts;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Core.Steps;
using System.Runtime.ExceptionServices;

namespace InfraRelocation.Core.Provisioning;

/// <summary>Timeouts and retry bounds of a provisioning run.</summary>
public sealed record ProvisionOptions
{
    /// <summary>Bound of each Proxmox task (clone, resize, start).</summary>
    public TimeSpan TaskTimeout { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>How long the guest agent may take to report an address.</summary>
    public TimeSpan AgentTimeout { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>How long a VM may stay locked (e.g. by a backup) before the run gives up with ResourceBusy.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(2);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long to wait for the estate lease (VMID reservation, recording the result).</summary>
    public TimeSpan LeaseWait { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Attempts of a call refused with "VM is locked" / "can't lock file … got timeout" (also bounded by <see cref="LockTimeout"/>).</summary>
    public int LockRetryAttempts { get; init; } = 10;
    public TimeSpan LockRetryInitialDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan LockRetryMaxDelay { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Overrides the profile's template VMID.</summary>
    public int? TemplateOverride { get; init; }
    /// <summary>Expands <c>~</c> in sshkey_file (default: the user's home).</summary>
    public string? HomeDirectory { get; init; }
    /// <summary>Task polling; null derives it from <see cref="TaskTimeout"/> and <see cref="PollInterval"/>.</summary>
    public TaskWaitOptions? TaskWait { get; init; }
    /// <summary>
    /// The ledger in which each estate write of a run (the VMID reservation, the recorded result) records its receipt,
    /// inside the write's transaction with the manifest's <c>ledger_anchor</c> (docs/design/ledger.md). Null writes
    /// without a receipt (tests of the executor alone).
    /// </summary>
    public Receipts.ReceiptStore? Receipts { get; init; }
    /// <summary>Builds the receipt of an estate write from the run as it stands after it (see <see cref="Receipts"/>).</summary>
    public Func<ProvisionResult, TransactionOutcome, RelocationReceipt>? Receipt { get; init; }
}

/// <summary>Progress of one VM target's run.</summary>
public sealed record ProvisionProgress(string Hostname, string Step, string Status, double? Percent);

/// <summary>What came of one VM target.</summary>
public sealed record ProvisionResult
{
    public required ProvisionPlan Plan { get; init; }
    public ReceiptOutcome Outcome { get; init; }
    public string? Address { get; init; }
    public IReadOnlyList<ProvisionStep> Steps { get; init; } = [];
    public IReadOnlyList<string> Upids { get; init; } = [];
    public bool Resumed { get; init; }
    public RelocationException? Error { get; init; }
    /// <summary>Estate files written (VMID reservation, status/address), relative paths.</summary>
    public IReadOnlyList<string> ChangedFiles { get; init; } = [];
    public string Summary { get; init; } = "";
    /// <summary>The run's receipt when it was recorded with the manifest write of the result (see <see cref="ProvisionOptions.Receipts"/>).</summary>
    public RelocationReceipt? Receipt { get; init; }
}

/// <summary>A VM target checked offline and ready to plan: target, profile, resolved settings, hypervisor.</summary>
public sealed record PreparedTarget(VmTarget Target, string ProfileName, ResolvedProvisioning Settings, ProxmoxHostSettings Host,
    IReadOnlyList<string> Notes, string? SshKeys);

/// <summary>
/// Builds one VM from a manifest VM target and a VM profile on Proxmox: clone, configure, resize, start, wait for the
/// agent's address, record <c>status: provisioned</c> and <c>address</c> in the manifest. Every step is reconciled
/// against what the API reports, so a re-run after success sends no mutating request (Unchanged) and a re-run after
/// a crash continues where it stopped; the journal records each step and UPID. Placement (D37 for that target) and
/// the hypervisor's identity (offline gate plus the node the API reports) are checked before any change.
/// </summary>
public sealed class ProvisionExecutor
{
    private readonly EstateSnapshot _estate;
    private readonly ProxmoxSettings _proxmox;
    private readonly ProvisionOptions _options;
    private readonly RetryPolicy _lockRetry;
    // VMIDs this run's previews have handed out, so that two previewed targets of one run are not shown the same free
    // id. The run's own state (one executor per command), not the process's: nothing outlives the command.
    private readonly HashSet<int> _previewReservations = [];

    public ProvisionExecutor(EstateSnapshot estate, ProxmoxSettings proxmox, ProvisionOptions? options = null)
    {
        _estate = estate ?? throw new ArgumentNullException(nameof(estate));
        _proxmox = proxmox ?? throw new ArgumentNullException(nameof(proxmox));
        _options = options ?? new ProvisionOptions();
        _lockRetry = LockRetry();
    }

    private string Root => _estate.Layout.Root;
    private string ManifestFile => _estate.Layout.RelativePath(EstateFile.Manifest);

    // ------------------------------------------------------------------ offline checks

    /// <summary>
    /// Offline checks, before any request: target, profile, settings, placement of that target (D37), the
    /// hypervisor's offline identity, its proxmox settings, and (when <paramref name="forExecute"/>) the template.
    /// </summary>
    public PreparedTarget Prepare(string hostname, string? profileName, bool forExecute)
    {
        var target = ProvisionPlanner.FindTarget(_estate, hostname);
        var (name, profile, catalog) = ProvisionPlanner.FindProfile(_estate, target, profileName);
        var settings = ProvisionPlanner.Resolve(target, profile, catalog.Defaults, _options.TemplateOverride, _options.HomeDirectory);
        var notes = new List<string>();

        var placement = PlacementGate.Evaluate(_estate).Findings
            .Where(f => f.Severity == FindingSeverity.Error && f.DocumentPath is { } p &&
                        (p == $"vm_targets[{target.Index}]" || p.StartsWith($"vm_targets[{target.Index}].", StringComparison.Ordinal)))
            .Where(f => !(target.VmId is null && f.RuleId == "D37.VmidMissing"))
            .ToList();
        if (placement.Count > 0)
        {
            throw new RelocationException("ProvisionPlacementRefused", FailureKind.InvalidOperation,
                $"Refusing to provision {hostname}: the placement policy does not allow it: " + string.Join(" ", placement.Select(f => f.Message)),
                placement[0].Location, hostname) { Findings = placement };
        }
        if (target.VmId is { } ownId && _estate.Manifest!.VmTargets.FirstOrDefault(v => v.VmId == ownId && !ReferenceEquals(v, target)) is { } other)
        {
            throw new RelocationException("ProvisionVmIdDuplicate", FailureKind.InvalidData,
                $"VM targets {target.Hostname} at {target.LocationOf("vm_id")} and {other.Hostname} at {other.LocationOf("vm_id")} both have vm_id {ownId}; give each its own.",
                target.LocationOf("vm_id"), target.Hostname);
        }
        var hv = target.ProxmoxHost!;
        var identity = HypervisorIdentityGate.Evaluate(_estate, new GateOptions { HypervisorIds = [hv] }).Findings
            .Where(f => f.Severity == FindingSeverity.Error).ToList();
        if (identity.Count > 0)
        {
            throw new RelocationException("ProvisionIdentityRefused", FailureKind.SecurityError,
                $"Refusing to provision on {hv}: its identity is not pinned consistently: " + string.Join(" ", identity.Select(f => f.Message)),
                identity[0].Location, hv) { Findings = identity };
        }
        var host = _proxmox.GetHost(hv);

        if (settings.TemplateVmId is null && forExecute)
        {
            throw new RelocationException("ProvisionTemplateUnset", FailureKind.InvalidData,
                $"Profile {name} has no template_vmid (nor do the defaults); set provisioning.template_vmid before provisioning {hostname}.",
                profile.Provisioning.Location ?? profile.Location, name);
        }

        string? keys = null;
        if (settings.SshKeyFile is { } keyFile)
        {
            if (File.Exists(keyFile))
            {
                keys = File.ReadAllText(keyFile).Trim();
                if (keys.Contains("PRIVATE KEY", StringComparison.Ordinal))
                {
                    throw new RelocationException("ProvisionSshKeyFileInvalid", FailureKind.SecurityError,
                        $"sshkey_file {keyFile} holds a private key; point it at the public key (.pub).", target: keyFile);
                }
                if (keys.Length == 0) keys = null;
            }
            else
            {
                notes.Add($"sshkey_file {keyFile} does not exist: no SSH key will be injected.");
            }
        }
        return new PreparedTarget(target, name, settings, host, notes, keys);
    }

    // ------------------------------------------------------------------ preview

    /// <summary>The exact plan, from read-only requests only (GET): no POST, PUT or DELETE, no file written.</summary>
    public async Task<ProvisionPlan> PreviewAsync(PreparedTarget prepared, ProxmoxClient client, CancellationToken ct = default)
    {
        var notes = new List<string>(prepared.Notes);
        var version = await client.GetVersionAsync(ct).ConfigureAwait(false);
        await CheckNodeIdentityAsync(client, prepared, ct).ConfigureAwait(false);
        if (prepared.Settings.TemplateVmId is { } templateId)
        {
            await CheckPrivilegesAsync(client, ProvisionPrivileges.For(prepared.Settings, templateId,
                ProvisionJournal.Open(Root, prepared.Target.Hostname).VmId ?? prepared.Target.VmId, prepared.Settings.Pool, MajorOf(version)), ct).ConfigureAwait(false);
        }
        var journal = ProvisionJournal.Open(Root, prepared.Target.Hostname);
        if (journal.Existed)
        {
            notes.Add($"an interrupted run left {ProvisionJournal.RelativePathFor(prepared.Target.Hostname)} (steps done: " +
                      $"{string.Join(", ", journal.Steps.Where(s => s.State == "done").Select(s => s.Name).DefaultIfEmpty("none"))}); the run continues from there.");
        }
        var vmId = journal.VmId ?? prepared.Target.VmId;
        var reserve = false;
        if (vmId is null)
        {
            reserve = true;
            vmId = await LowestFreeVmIdAsync(client, prepared, preview: true, manifestBytes: null, ct).ConfigureAwait(false);
            if (vmId is null) notes.Add("no VMID of the site's range is free.");
        }

        ClusterResource? existing = vmId is { } id ? await client.FindVmAsync(id, ct).ConfigureAwait(false) : null;
        if (existing is not null && !IsOurs(existing, prepared, journal))
        {
            throw VmIdTaken(prepared, existing);
        }
        var diskKey = "scsi0";
        string? net0 = null;
        TemplateSource? source = null;
        var states = new Dictionary<string, (ProvisionStepState State, string? Note, Dictionary<string, string>? Params)>();
        notes.Add($"requests authenticate with Authorization: PVEAPIToken={client.Principal}=******** against {prepared.Host.ApiUrl}");
        if (existing is null)
        {
            await CheckNameFreeAsync(client, prepared, vmId, ct).ConfigureAwait(false);
            if (prepared.Settings.TemplateVmId is { } tpl)
            {
                var template = await ResolveTemplateAsync(client, prepared, tpl, ct).ConfigureAwait(false);
                diskKey = BootDisk(template.Config) ?? diskKey;
                source = template;
            }
        }
        else
        {
            states["clone"] = (ProvisionStepState.Skipped, $"VM {vmId} '{existing.Name}' exists", null);
            var config = await client.GetVmConfigAsync(existing.Node ?? prepared.Host.Node, vmId!.Value, ct).ConfigureAwait(false);
            diskKey = BootDisk(config) ?? diskKey;
            net0 = ProvisionPlanner.Net0For(config["net0"], prepared.Settings.Bridge);
            var diff = ConfigDiff(config, ProvisionPlanner.DesiredConfig(prepared.Settings, net0, prepared.SshKeys));
            states["configure"] = diff.IsEmpty
                ? (ProvisionStepState.Skipped, "config already as wanted", null)
                : (ProvisionStepState.Planned, "keys that differ", diff.Values.ToDictionary(kv => kv.Key, kv => kv.Key == "sshkeys" ? "<public keys>" : kv.Value, StringComparer.Ordinal));
            if (NeedsResize(config, diskKey, prepared) is false) states["resize"] = (ProvisionStepState.Skipped, "disk already that size", null);
            var status = await client.GetVmStatusAsync(existing.Node ?? prepared.Host.Node, vmId.Value, ct).ConfigureAwait(false);
            if (status.IsRunning) states["start"] = (ProvisionStepState.Skipped, "running", null);
            if (status.IsRunning && prepared.Target.Status is not null and not VmTargetStatus.Planned && prepared.Target.Address is not null)
            {
                states["record"] = (ProvisionStepState.Skipped, $"manifest has status {prepared.Target.StatusText} and address {prepared.Target.Address}", null);
            }
        }

        if (existing is not null && existing.Node != prepared.Host.Node)
        {
            source = new TemplateSource(new VmConfig(new Dictionary<string, string>(), null), existing.Node!, CloneRoute.CloneThenMigrate);
            states["clone"] = (ProvisionStepState.Skipped, $"VM {vmId} exists on {existing.Node}", null);
        }
        if (source is { Route: CloneRoute.CloneThenMigrate }) await CheckPrivilegesAsync(client, [ProvisionPrivileges.Migrate(vmId)], ct).ConfigureAwait(false);
        string? lookup = null;
        if (journal.Step("clone") is { State: "started", Upid: null } unrecorded && prepared.Settings.TemplateVmId is { } cloned)
        {
            // A run died between its clone request and journaling the task: the next run finds that clone (ExecuteAsync), it does not plan a fresh one.
            var templateNode = (await client.FindVmAsync(cloned, ct).ConfigureAwait(false))?.Node ?? source?.Node ?? prepared.Host.Node;
            var since = (unrecorded.At - InterruptedClone.ClockSkew).UtcDateTime;
            var resume = $"an earlier run asked for this clone at {unrecorded.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z and stopped before recording its task: " +
                         $"the next run looks up the qmclone tasks of template {cloned} on node {templateNode} since {since:yyyy-MM-dd HH:mm:ss}Z and resumes " +
                         $"that clone (waits for its task, or carries on with VM {vmId}); it clones again only if Proxmox made none";
            states["clone"] = (ProvisionStepState.Planned, resume, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["typefilter"] = "qmclone", ["vmid"] = cloned.ToString(CultureInfo.InvariantCulture), ["source"] = "all",
                ["since"] = new DateTimeOffset(since, TimeSpan.Zero).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            });
            lookup = $"/nodes/{templateNode}/tasks";
            notes.Add(resume);
        }
        var plan = ProvisionPlanner.Plan(_estate, prepared.Target, prepared.ProfileName, prepared.Settings, prepared.Host, vmId, reserve,
            prepared.SshKeys, notes, diskKey, net0, source?.Node, source?.Route ?? CloneRoute.SameNode);
        var steps = plan.Steps.Select(s => states.TryGetValue(s.Name, out var st)
            ? s with { State = st.State, Note = st.Note ?? s.Note, Parameters = st.Params ?? s.Parameters }
            : s).Select(s => s.Name == "clone" && lookup is not null ? s with { Method = "GET", Path = lookup } : s).ToList();
        return plan with { Steps = steps };
    }

    // ------------------------------------------------------------------ execute

    /// <summary>Provisions (or reconciles) the VM. Failures come back in <see cref="ProvisionResult.Error"/> with the journal kept.</summary>
    public async Task<ProvisionResult> ExecuteAsync(PreparedTarget prepared, ProxmoxClient client, IProgress<ProvisionProgress>? progress = null,
        CancellationToken ct = default)
    {
        var hostname = prepared.Target.Hostname;
        var node = prepared.Host.Node;
        var journal = ProvisionJournal.Open(Root, hostname);
        var resumed = journal.Existed;
        var done = new Dictionary<string, (ProvisionStepState State, string? Upid, string? Note)>(StringComparer.Ordinal);
        var upids = new List<string>();
        var changedFiles = new List<string>();
        var mutated = false;
        int? vmId = journal.VmId ?? prepared.Target.VmId;
        var reserve = vmId is null;
        string? address = null;
        string? current = null;
        var diskKey = "scsi0";
        string? net0 = null;
        var templateNode = node;
        var route = CloneRoute.SameNode;

        void Report(string step, string status, double? percent = null) => progress?.Report(new ProvisionProgress(hostname, step, status, percent));

        // A client outside the estate (GUI, Terraform) took the VMID this estate reserved from the site range between
        // the check and the clone: the next free id of the range is recorded in its place (never the same id twice).
        async Task<int> TakeNextVmIdAsync(int taken)
        {
            var next = await ReplaceReservedVmIdAsync(client, prepared, taken, changedFiles, Reserved, ct).ConfigureAwait(false);
            vmId = next;
            EnsureJournalHeader(journal, prepared, next, prepared.Settings.TemplateVmId ?? 0);
            journal.Record("reserve-vmid", "done");
            done["reserve-vmid"] = (ProvisionStepState.Done, null, $"VMID {taken} was taken outside the estate; {next} recorded instead");
            Report("reserve-vmid", $"VMID {taken} was taken outside the estate; using {next}");
            return next;
        }
        ProvisionPlan MakePlan() => ProvisionPlanner.Plan(_estate, prepared.Target, prepared.ProfileName, prepared.Settings, prepared.Host, vmId, reserve,
            prepared.SshKeys, prepared.Notes, diskKey, net0, templateNode, route);
        // The receipt of a VMID reservation (a step of the run, recorded with the manifest write).
        ProvisionResult Reserved(int id) => new()
        {
            Plan = MakePlan() with { VmId = id }, Outcome = ReceiptOutcome.Succeeded, Upids = [.. upids], Resumed = resumed, ChangedFiles = [ManifestFile],
            Steps = Merge(MakePlan(), new(done) { ["reserve-vmid"] = (ProvisionStepState.Done, null, $"VMID {id}") }),
            Summary = $"{hostname}: VMID {id} reserved in {ManifestFile} from the site's range (step reserve-vmid); provisioning continues.",
        };

        try
        {
            var template = prepared.Settings.TemplateVmId ?? throw new RelocationException("ProvisionTemplateUnset", FailureKind.InvalidData,
                $"Profile {prepared.ProfileName} has no template_vmid; set provisioning.template_vmid before provisioning {hostname}.", target: prepared.ProfileName);

            current = "connect";
            Report(current, $"connecting to {prepared.Host.ApiUrl}");
            var version = await client.GetVersionAsync(ct).ConfigureAwait(false);
            await CheckNodeIdentityAsync(client, prepared, ct).ConfigureAwait(false);
            await CheckPrivilegesAsync(client, ProvisionPrivileges.For(prepared.Settings, template, vmId, prepared.Settings.Pool, MajorOf(version)), ct).ConfigureAwait(false);

            // Every step of the VM through the shared runner: each looks first and acts only when the VM (or the estate)
            // differs. The steps that change the VM through a task are journaled by the runner (started, then done with
            // their task); the VMID reservation, the clone and the record journal themselves: their recovery after a
            // crash needs more than started/done (the reservation and the record are estate transactions that look under
            // the lease; the clone's request may have reached Proxmox without its task being journaled).
            var id = vmId ?? 0;
            var stepUpid = new Dictionary<string, string?>(StringComparer.Ordinal);
            var steps = new List<Step>();
            if (reserve)
            {
                // No VMID in the journal (a resumed run) nor the target: the lowest free id of the site's range, reserved in the manifest.
                steps.Add(new Step("reserve-vmid")
                {
                    Apply = async c =>
                    {
                        Report("reserve-vmid", "choosing a VMID from the site's range");
                        await CheckNameFreeAsync(client, prepared, null, c).ConfigureAwait(false);
                        id = (vmId = await ReserveVmIdAsync(client, prepared, changedFiles, Reserved, c).ConfigureAwait(false)).Value;
                        EnsureJournalHeader(journal, prepared, id, template);
                        journal.Record("reserve-vmid", "done");
                        return Applied.Ok("");
                    },
                });
            }

            // Clone, unless the VM is already there (a re-run, or a clone started by a crashed run).
            string? cloneNote = null;
            string? resumeNote = null; // a clone of an earlier run to wait for, or to carry on with (its task ended OK)
            string? finishedTask = null;
            var vmMissing = false;
            steps.Add(new Step("clone")
            {
                Observe = async c =>
                {
                    if (journal.Step("clone") is { State: "started", Upid: null } unrecorded &&
                        await ResolveUnrecordedCloneAsync(client, id, template, unrecorded.At, Report, c).ConfigureAwait(false) is { } found)
                    {
                        // A run died between POST .../clone and journaling its task: find that clone instead of waiting out its lock.
                        cloneNote = found.Note;
                        Report("clone", found.Note);
                        switch (found.Action)
                        {
                            case InterruptedCloneAction.WaitForTask:
                                journal.Record("clone", "started", found.Upid); // a second crash finds it recorded; waited for below
                                resumeNote = "clone of the interrupted run, found in the node's task list";
                                break;
                            case InterruptedCloneAction.Continue:
                                journal.Record("clone", "done", found.Upid);
                                if (found.Upid is not null) upids.Add(found.Upid);
                                (finishedTask, resumeNote) = (found.Upid, found.Note);
                                break;
                            case InterruptedCloneAction.Refuse:
                                throw new RelocationException("ProvisionCloneInterrupted", FailureKind.InvalidOperation,
                                    $"{found.Note}. An earlier run asked for this clone and stopped before recording its task, and no clone task is " +
                                    $"making VM {id} now (a killed clone worker or a node restart leaves its VM locked). Check the task log on the node; " +
                                    $"if no clone runs, remove the half-made VM (qm unlock {id}; qm destroy {id}) and run New-ProxmoxVm again.",
                                    target: found.Upid ?? id.ToString(CultureInfo.InvariantCulture));
                        }
                    }
                    var existing = await client.FindVmAsync(id, c).ConfigureAwait(false);
                    while (existing is not null && !IsOurs(existing, prepared, journal))
                    {
                        if (!ReservedByThisEstate(journal, id)) throw VmIdTaken(prepared, existing);
                        id = await TakeNextVmIdAsync(id);
                        existing = await client.FindVmAsync(id, c).ConfigureAwait(false);
                    }
                    vmMissing = existing is null;
                    if (vmMissing) return Observation.Pending($"VM {id} does not exist");
                    if (journal.Step("clone") is { State: "started", Upid: not null } || finishedTask is not null) return Observation.Pending("a clone of an earlier run");
                    await FollowVmAsync(c).ConfigureAwait(false);
                    return Observation.Done(resumeNote ?? $"VM {id} exists");
                },
                ObserveAfterApply = false,
                Apply = async c =>
                {
                    if (!vmMissing)
                    {
                        if (journal.Step("clone") is { State: "started", Upid: { } pending } && Upid.TryParse(pending, out var pendingUpid))
                        {
                            // A crashed run left the clone running or finished: wait for its real outcome.
                            Report("clone", $"waiting for the clone started by an earlier run ({pendingUpid!.Type})");
                            await WaitTaskAsync(client, pendingUpid, "clone", Report, c).ConfigureAwait(false);
                            upids.Add(pending);
                            journal.Record("clone", "done", pending);
                            finishedTask = pending;
                        }
                        stepUpid["clone"] = finishedTask;
                        await FollowVmAsync(c).ConfigureAwait(false);
                        return Applied.Ok(resumeNote ?? "clone of an earlier run");
                    }
                    await CheckNameFreeAsync(client, prepared, id, c).ConfigureAwait(false);
                    var source = await ResolveTemplateAsync(client, prepared, template, c).ConfigureAwait(false);
                    templateNode = source.Node;
                    route = source.Route;
                    diskKey = BootDisk(source.Config) ?? diskKey;
                    if (NeedsResize(source.Config, diskKey, prepared) is null)
                    {
                        // the template's disk is larger than the profile's: refuse before cloning (resize only grows)
                        throw ShrinkRefused(prepared, source.Config, diskKey, $"template {template}");
                    }
                    if (route == CloneRoute.CloneThenMigrate) await CheckPrivilegesAsync(client, [ProvisionPrivileges.Migrate(id)], c).ConfigureAwait(false);
                    Report("clone", $"cloning template {template} (node {templateNode}) to VM {id}", 0);
                    EnsureJournalHeader(journal, prepared, id, template);
                    journal.Record("clone", "started");
                    Upid upid;
                    while (true)
                    {
                        try
                        {
                            upid = await Retry(r => client.CloneVmAsync(templateNode, template, new CloneRequest(id)
                            {
                                Name = hostname, Full = true, Storage = prepared.Settings.Storage, Pool = prepared.Settings.Pool,
                                Target = route == CloneRoute.CloneWithTarget ? node : null,
                            }, r), c).ConfigureAwait(false);
                            break;
                        }
                        catch (ProxmoxApiException e) when (e.ApiMessage.Contains("already exists", StringComparison.OrdinalIgnoreCase) && ReservedByThisEstate(journal, id))
                        {
                            // qemu-server clone_vm: "unable to create VM <id>: config file already exists" — taken since the check.
                            id = await TakeNextVmIdAsync(id);
                            journal.Record("clone", "started");
                        }
                    }
                    mutated = true;
                    upids.Add(upid.Text);
                    stepUpid["clone"] = upid.Text;
                    journal.Record("clone", "started", upid.Text);
                    await WaitTaskAsync(client, upid, "clone", Report, c).ConfigureAwait(false);
                    journal.Record("clone", "done", upid.Text);
                    var routeNote = route == CloneRoute.CloneWithTarget ? $"to node {node} (shared storage)" : null;
                    return Applied.Ok((cloneNote is null ? routeNote : routeNote is null ? cloneNote : $"{cloneNote}; {routeNote}") ?? "");
                },
            });

            // Ours but on another node: a clone on the template's node whose migration has not happened yet. Only a
            // stopped VM is moved (the migrate step); a running one is left to the operator.
            async Task FollowVmAsync(CancellationToken c)
            {
                if ((await client.FindVmAsync(id, c).ConfigureAwait(false))?.Node is not { } elsewhere || elsewhere == node) return;
                var there = await client.GetVmStatusAsync(elsewhere, id, c).ConfigureAwait(false);
                if (there.IsRunning)
                {
                    throw new RelocationException("ProvisionVmOnOtherNode", FailureKind.InvalidOperation,
                        $"VM {id} ({hostname}) runs on node {elsewhere}, not on {node} where the manifest places it; migrate it or correct proxmox_host.",
                        prepared.Target.LocationOf("proxmox_host"), hostname);
                }
                templateNode = elsewhere;
                route = CloneRoute.CloneThenMigrate;
            }

            // The VM as the profile wants it; a call refused because the VM is locked runs again under the lock retry policy.
            VmConfig config = null!;
            VmStatus status = null!;
            // The clone of a template on another node's local storage moves offline to the target node
            // (qemu-server PVE/API2/Qemu.pm migrate_vm; the task runs on the source node).
            steps.Add(new Step("migrate")
            {
                Observe = _ => Task.FromResult(route == CloneRoute.CloneThenMigrate
                    ? Observation.Pending($"VM {id} is on {templateNode}")
                    : Observation.NotApplicable($"VM {id} is on {node}")),
                ObserveAfterApply = false,
                Apply = async c =>
                {
                    Report("migrate", $"waiting for VM {id} on {templateNode} to be unlocked");
                    await client.WaitForUnlockAsync(templateNode, id, _options.LockTimeout, _options.PollInterval, c).ConfigureAwait(false);
                    Report("migrate", $"migrating VM {id} from {templateNode} to {node} with its local disks");
                    var migrate = await Retry(r => client.MigrateVmAsync(templateNode, id, node, withLocalDisks: true, ct: r), c).ConfigureAwait(false);
                    mutated = true;
                    upids.Add(migrate.Text);
                    stepUpid["migrate"] = migrate.Text;
                    journal.Record("migrate", "started", migrate.Text);
                    await WaitTaskAsync(client, migrate, "migrate", Report, c).ConfigureAwait(false);
                    return Applied.Ok($"from {templateNode}");
                },
            });
            // The clone's lock clears when its task ends; a backup or another client may hold one for a while.
            steps.Add(new Step("unlock")
            {
                Observe = async c =>
                {
                    status = await client.GetVmStatusAsync(node, id, c).ConfigureAwait(false);
                    return status.Lock is null ? Observation.Done("not locked") : Observation.Pending($"lock '{status.Lock}'");
                },
                ObserveAfterApply = false,
                Apply = async c =>
                {
                    Report("unlock", $"waiting for lock '{status.Lock}' on VM {id} to clear");
                    await client.WaitForUnlockAsync(node, id, _options.LockTimeout, _options.PollInterval, c).ConfigureAwait(false);
                    return Applied.Ok("");
                },
            });
            // Configure: only the keys that differ (net0 keeps the clone's MAC).
            VmConfigUpdate diff = null!;
            steps.Add(new Step("configure")
            {
                Observe = async c =>
                {
                    config = await client.GetVmConfigAsync(node, id, c).ConfigureAwait(false);
                    diskKey = BootDisk(config) ?? diskKey;
                    net0 = ProvisionPlanner.Net0For(config["net0"], prepared.Settings.Bridge);
                    diff = ConfigDiff(config, ProvisionPlanner.DesiredConfig(prepared.Settings, net0, prepared.SshKeys));
                    return diff.IsEmpty ? Observation.Done("config already as wanted") : Observation.Pending("keys differ");
                },
                ObserveAfterApply = false,
                Retry = _lockRetry,
                Apply = async c =>
                {
                    Report("configure", $"setting {string.Join(", ", diff.Values.Keys)}");
                    await client.UpdateVmConfigAsync(node, id, diff, c).ConfigureAwait(false);
                    mutated = true;
                    config = await client.GetVmConfigAsync(node, id, c).ConfigureAwait(false);
                    return Applied.Ok("");
                },
            });
            // Resize: grow only.
            steps.Add(new Step("resize")
            {
                Observe = _ => Task.FromResult(NeedsResize(config, diskKey, prepared) switch
                {
                    true => Observation.Pending($"{diskKey} is smaller than {prepared.Settings.DiskGb}G"),
                    false => Observation.Done("disk already that size"),
                    _ => throw ShrinkRefused(prepared, config, diskKey, $"VM {id}"),
                }),
                ObserveAfterApply = false,
                // Since PVE 8 the resize runs in a task: a lock refusal is its exit status, retried like an HTTP one.
                Retry = _lockRetry,
                Apply = async c =>
                {
                    Report("resize", $"growing {diskKey} to {prepared.Settings.DiskGb}G");
                    var u = await client.ResizeDiskAsync(node, id, diskKey, $"{prepared.Settings.DiskGb}G", null, c).ConfigureAwait(false);
                    mutated = true;
                    stepUpid["resize"] = u?.Text;
                    if (u is not null)
                    {
                        upids.Add(u.Text);
                        journal.Record("resize", "started", u.Text);
                        await WaitTaskAsync(client, u, "resize", Report, c).ConfigureAwait(false);
                    }
                    return Applied.Ok("");
                },
            });
            steps.Add(new Step("start")
            {
                Observe = async c =>
                {
                    status = await client.GetVmStatusAsync(node, id, c).ConfigureAwait(false);
                    return status.IsRunning ? Observation.Done("running") : Observation.Pending("stopped");
                },
                ObserveAfterApply = false,
                // A lock on the VM fails the start inside its task (qemu-server vm_start checks it in the worker): retried.
                Retry = _lockRetry,
                Apply = async c =>
                {
                    Report("start", $"starting VM {id}");
                    var u = await client.StartVmAsync(node, id, c).ConfigureAwait(false);
                    mutated = true;
                    upids.Add(u.Text);
                    stepUpid["start"] = u.Text;
                    journal.Record("start", "started", u.Text);
                    try
                    {
                        await WaitTaskAsync(client, u, "start", Report, c).ConfigureAwait(false);
                    }
                    catch (ProxmoxTaskFailedException e) when (e.ExitStatus.Contains("already running", StringComparison.OrdinalIgnoreCase))
                    {
                    }
                    if (u.Type == "hastart")
                    {
                        // An HA-managed VM: the task only asked the HA stack to start it; its LRM starts it shortly after.
                        Report("start", $"VM {id} is HA-managed: waiting for the HA stack to start it");
                        await WaitForRunningAsync(client, node, id, c).ConfigureAwait(false);
                    }
                    return Applied.Ok("");
                },
            });
            // Address: from the guest agent (preferring net0's MAC); without an agent, the static ipconfig0 address.
            steps.Add(new Step("address")
            {
                Observe = _ =>
                {
                    if (prepared.Settings.QemuAgent) return Task.FromResult(Observation.Pending("waiting for the guest agent"));
                    address = StaticAddress(prepared.Settings.CiNetwork);
                    return Task.FromResult(Observation.Done(address is null ? "qemu_agent is off: no address" : "static address of ipconfig0"));
                },
                ObserveAfterApply = false,
                Apply = async c =>
                {
                    Report("address", "waiting for the guest agent's address");
                    address = await client.WaitForGuestAddressAsync(node, id, config.MacAddressOf("net0"), _options.AgentTimeout, _options.PollInterval, ct: c)
                        .ConfigureAwait(false);
                    return Applied.Ok(address ?? "");
                },
            });
            // Record status and address through the estate transaction (looked at under the lease: nothing to write is Unchanged).
            var outcome = ReceiptOutcome.Succeeded;
            ProvisionResult Result(string? recordNote) => new()
            {
                Plan = MakePlan(), Outcome = outcome, Address = address, Upids = upids, Resumed = resumed,
                Steps = Merge(MakePlan(), recordNote is null ? done : new(done) { ["record"] = (ProvisionStepState.Done, null, recordNote) }),
                ChangedFiles = recordNote is null || changedFiles.Contains(ManifestFile) ? changedFiles : [.. changedFiles, ManifestFile],
                Summary = outcome == ReceiptOutcome.Unchanged
                    ? $"{hostname}: VM {id} on {node} already provisioned and running at {address ?? "(no address)"}; nothing changed."
                    : $"{hostname}: VM {id} on {node} provisioned{(resumed ? " (resumed)" : "")}, address {address ?? "(none)"}.",
            };
            RelocationReceipt? receipt = null;
            steps.Add(new Step("record")
            {
                Apply = c =>
                {
                    Report("record", $"recording {hostname} in {ManifestFile}");
                    if (!Record(prepared, address, note => Result(note), c, out var note, out receipt)) return Task.FromResult(Applied.Unchanged(note));
                    changedFiles.Add(ManifestFile);
                    return Task.FromResult(Applied.Ok(note));
                },
            });

            var journaled = new HashSet<string>(["migrate", "configure", "resize", "start"], StringComparer.Ordinal);
            var runner = new StepRunner
            {
                Starting = step =>
                {
                    if (!journaled.Contains(step.Name)) return;
                    EnsureJournalHeader(journal, prepared, id, template);
                    journal.Record(step.Name, "started");
                },
                Finished = r =>
                {
                    current = r.Name;
                    var upid = stepUpid.GetValueOrDefault(r.Name);
                    if (r.Outcome == StepOutcome.Done && journaled.Contains(r.Name)) journal.Record(r.Name, "done", upid);
                    if (r.Outcome == StepOutcome.Unchanged) done[r.Name] = (ProvisionStepState.Skipped, null, r.Evidence);
                    else if (r.Outcome == StepOutcome.Done) done[r.Name] = (ProvisionStepState.Done, upid, r.Evidence.Length == 0 ? null : r.Evidence);
                },
            };
            var ran = await runner.RunAsync(steps, ct).ConfigureAwait(false);
            if (ran.FirstOrDefault(r => r.Outcome == StepOutcome.Failed) is { } failed)
            {
                current = failed.Name;
                ExceptionDispatchInfo.Throw(failed.Error ?? new InvalidOperationException(failed.Evidence));
            }
            journal.Delete();
            Report("done", "done", 100);

            outcome = mutated || changedFiles.Count > 0 ? ReceiptOutcome.Succeeded : ReceiptOutcome.Unchanged;
            return Result(null) with { Receipt = receipt };
        }
        catch (RelocationException e)
        {
            if (current is not null) done[current] = (ProvisionStepState.Failed, null, e.Message.Split('\n')[0]);
            var kept = journal.Existed || File.Exists(Path.Combine(Root, ProvisionJournal.RelativePathFor(hostname)));
            var wrapped = e is ProxmoxTaskFailedException or ProxmoxApiException || (current is not null && current != "connect")
                ? new RelocationException(e.ErrorId, e.Kind,
                    $"{hostname}: step '{current}' failed: {e.Message}" +
                    (kept ? $"{Environment.NewLine}The journal {ProvisionJournal.RelativePathFor(hostname)} keeps what was done; fix the cause and run New-ProxmoxVm again to continue." : ""),
                    e.Location, e.Target ?? hostname, e) { Findings = e.Findings }
                : e;
            return new ProvisionResult
            {
                Plan = MakePlan(), Outcome = ReceiptOutcome.Failed, Steps = Merge(MakePlan(), done), Upids = upids, Resumed = resumed, Error = wrapped,
                ChangedFiles = changedFiles, Address = address,
                Summary = $"{hostname}: failed at {current}: {e.Message.Split('\n')[0]}",
            };
        }
    }

    // ------------------------------------------------------------------ helpers

    private async Task CheckNodeIdentityAsync(ProxmoxClient client, PreparedTarget prepared, CancellationToken ct)
    {
        var host = prepared.Host;
        var expected = HypervisorIdentityGate.ExpectedHostname(_estate, host.HostId);
        if (!string.Equals(host.Node, expected, StringComparison.Ordinal))
        {
            throw new RelocationException("ProvisionNodeIdentityMismatch", FailureKind.SecurityError,
                $"Refusing to provision on {host.HostId}: proxmox.hosts.{host.HostId}.node is '{host.Node}' at {host.Location}, but the hypervisor must be named '{expected}'.",
                host.Location, host.HostId);
        }
        var nodes = await client.GetNodesAsync(ct).ConfigureAwait(false);
        var node = nodes.FirstOrDefault(n => n.Node == host.Node);
        if (node is null)
        {
            throw new RelocationException("ProvisionNodeIdentityMismatch", FailureKind.SecurityError,
                $"Refusing to provision on {host.HostId}: the API at {host.ApiUrl} has no node '{host.Node}' (it reports: {string.Join(", ", nodes.Select(n => n.Node))}).",
                host.Location, host.HostId);
        }
        if (node.Status != "online")
        {
            throw new RelocationException("ProvisionNodeOffline", FailureKind.ResourceUnavailable,
                $"Node {host.Node} is {node.Status}.", host.Location, host.HostId);
        }
        // The URL may be any node of the cluster or a VIP: its certificate was checked against `fingerprint` by TLS.
        // The node's own certificate is checked only where the estate pins it (`node_fingerprint`).
        if (host.NodeFingerprints.Count > 0 &&
            !host.NodeFingerprints.Any(pin => ProxmoxEndpoint.NormaliseFingerprint(pin) == ProxmoxEndpoint.NormaliseFingerprint(node.SslFingerprint ?? "")))
        {
            throw new RelocationException("ProvisionNodeIdentityMismatch", FailureKind.SecurityError,
                $"Refusing to provision on {host.HostId}: node {host.Node} reports certificate {node.SslFingerprint ?? "(none)"}, but node_fingerprint pins " +
                $"{string.Join(" or ", host.NodeFingerprints)} at {host.Location}.",
                host.Location, host.HostId);
        }
    }

    /// <summary>
    /// Asks GET /access/permissions?path= once per path and refuses with one error naming every missing privilege and
    /// its path, before any change (see <see cref="ProvisionPrivileges"/>).
    /// </summary>
    private static async Task CheckPrivilegesAsync(ProxmoxClient client, IEnumerable<RequiredPrivilege> required, CancellationToken ct)
    {
        var missing = new List<RequiredPrivilege>();
        foreach (var path in required.GroupBy(r => r.Path, StringComparer.Ordinal))
        {
            var granted = await client.GetPermissionsAsync(path.Key, ct).ConfigureAwait(false);
            missing.AddRange(path.Where(r => !granted.Contains(r.Privilege)));
        }
        if (missing.Count == 0) return;
        throw new RelocationException("ProvisionPrivilegeMissing", FailureKind.PermissionDenied,
            $"{client.Principal} lacks {string.Join("; ", missing.Select(m => $"{m.Privilege} on {m.Path} ({m.Why})"))}. Nothing was changed. " +
            "Grant them to this token or user (a privilege-separated token has only its own ACLs), e.g. pveum acl modify <path> --tokens <token id> --roles <role>; " +
            "Get-Help New-ProxmoxVm lists every privilege per Proxmox VE version.",
            target: missing[0].Path);
    }

    private static int MajorOf(ProxmoxVersion version) =>
        int.TryParse(version.Version.Split('.')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : 9;

    /// <summary>A VM already carrying the target's name under another VMID means a second copy would be built: refuse.</summary>
    private static async Task CheckNameFreeAsync(ProxmoxClient client, PreparedTarget prepared, int? vmId, CancellationToken ct)
    {
        var same = (await client.FindVmsByNameAsync(prepared.Target.Hostname, ct).ConfigureAwait(false))
            .Where(v => v.Template != true && v.VmId != vmId).ToList();
        if (same.Count > 0)
        {
            throw new RelocationException("ProvisionNameTaken", FailureKind.ResourceUnavailable,
                $"A VM named '{prepared.Target.Hostname}' already exists as VMID {string.Join(", ", same.Select(v => $"{v.VmId} on {v.Node}"))}; " +
                $"set the target's vm_id to it (to adopt it) or remove that VM, so a second copy is not built.",
                prepared.Target.LocationOf("vm_id") ?? prepared.Target.Location, prepared.Target.Hostname);
        }
    }

    private static bool IsOurs(ClusterResource vm, PreparedTarget prepared, ProvisionJournal journal) =>
        vm.Template != true && (string.Equals(vm.Name, prepared.Target.Hostname, StringComparison.Ordinal) ||
                                (vm.Lock == "clone" && journal.Step("clone") is not null && journal.VmId == vm.VmId));

    /// <summary>
    /// Looks for the clone of a run that died before journaling its task (see <see cref="InterruptedClone"/>): the
    /// template node's clone tasks since the journaled request and the VM as it is. A clone task whose log does not
    /// name its VM yet is asked about again for at most the lock timeout. Null when the template is gone (the clone
    /// path reports that).
    /// </summary>
    private async Task<InterruptedCloneDecision?> ResolveUnrecordedCloneAsync(ProxmoxClient client, int id, int template, DateTimeOffset requestedAt,
        Action<string, string, double?> report, CancellationToken ct)
    {
        if ((await client.FindVmAsync(template, ct).ConfigureAwait(false))?.Node is not { } templateNode) return null;
        var deadline = DateTimeOffset.UtcNow + _options.LockTimeout;
        while (true)
        {
            var tasks = await InterruptedClone.FindTasksAsync(client, templateNode, template, requestedAt, ct).ConfigureAwait(false);
            var vm = await client.FindVmAsync(id, ct).ConfigureAwait(false);
            var decision = InterruptedClone.Decide(id, template, templateNode, requestedAt, vm, tasks, settled: DateTimeOffset.UtcNow >= deadline);
            if (decision.Action != InterruptedCloneAction.LookAgain) return decision;
            report("clone", decision.Note, null);
            await Task.Delay(_options.PollInterval, ct).ConfigureAwait(false);
        }
    }

    private static RelocationException VmIdTaken(PreparedTarget prepared, ClusterResource vm) =>
        new("ProvisionVmIdTaken", FailureKind.ResourceUnavailable,
            $"VMID {vm.VmId} is already used by {(vm.Template == true ? "template" : "VM")} '{vm.Name}' on {vm.Node}; {prepared.Target.Hostname} cannot use it. Choose another vm_id.",
            prepared.Target.LocationOf("vm_id") ?? prepared.Target.Location, prepared.Target.Hostname);

    /// <summary>
    /// Finds the template anywhere in the cluster (VMIDs are cluster-wide) and decides how its clone reaches the
    /// target node, by qemu-server's rules (PVE/API2/Qemu.pm clone_vm): <c>target</c> only when every volume of the
    /// template and the profile's storage are shared; otherwise clone on the template's node and migrate the
    /// stopped VM offline with its local disks. Refuses a missing template, a VM that is no template, and a storage
    /// that cannot hold images on the nodes involved.
    /// </summary>
    private async Task<TemplateSource> ResolveTemplateAsync(ProxmoxClient client, PreparedTarget prepared, int template, CancellationToken ct)
    {
        var res = await client.FindVmAsync(template, ct).ConfigureAwait(false);
        if (res is null)
        {
            throw new RelocationException("ProvisionTemplateNotFound", FailureKind.ObjectNotFound,
                $"Template {template} of profile {prepared.ProfileName} does not exist on the cluster of {prepared.Host.HostId}.", target: template);
        }
        if (res.Template != true)
        {
            throw new RelocationException("ProvisionTemplateNotTemplate", FailureKind.InvalidData,
                $"VMID {template} ('{res.Name}') of profile {prepared.ProfileName} is a VM, not a template.", target: template);
        }
        var templateNode = res.Node!;
        var wanted = prepared.Settings.Storage;
        foreach (var n in new[] { templateNode, prepared.Host.Node }.Distinct())
        {
            var storages = await client.SendAsync(HttpMethod.Get, $"nodes/{Uri.EscapeDataString(n)}/storage", null, ct).ConfigureAwait(false);
            if (storages.ValueKind != System.Text.Json.JsonValueKind.Array) continue;
            var list = storages.EnumerateArray().Select(e => (Id: e.Str("storage") ?? "", Content: e.Str("content") ?? "")).ToList();
            if (!list.Any(x => x.Id == wanted && x.Content.Split(',').Contains("images")))
            {
                var usable = list.Where(x => x.Content.Split(',').Contains("images")).Select(x => x.Id).ToList();
                throw new RelocationException("ProvisionStorageUnusable", FailureKind.InvalidData,
                    $"Storage '{wanted}' of profile {prepared.ProfileName} {(list.Any(x => x.Id == wanted) ? "does not hold VM images" : "does not exist")} on node {n}" +
                    $" (storages for images: {(usable.Count == 0 ? "none" : string.Join(", ", usable))}).", target: wanted);
            }
        }
        var config = await client.GetVmConfigAsync(templateNode, template, ct).ConfigureAwait(false);
        if (templateNode == prepared.Host.Node) return new TemplateSource(config, templateNode, CloneRoute.SameNode);
        var shared = (await client.GetStoragesAsync(ct).ConfigureAwait(false)).Where(s => s.Shared).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var allShared = config.Volumes().All(shared.Contains) && shared.Contains(wanted);
        return new TemplateSource(config, templateNode, allShared ? CloneRoute.CloneWithTarget : CloneRoute.CloneThenMigrate);
    }

    private static string? BootDisk(VmConfig config)
    {
        foreach (var key in config.Values.Keys.Where(k => System.Text.RegularExpressions.Regex.IsMatch(k, @"^(scsi|virtio|sata|ide)\d+$"))
                     .OrderBy(k => k.StartsWith("scsi", StringComparison.Ordinal) ? 0 : k.StartsWith("virtio", StringComparison.Ordinal) ? 1 : 2)
                     .ThenBy(k => k, StringComparer.Ordinal))
        {
            var v = config[key]!;
            if (!v.Contains("media=cdrom", StringComparison.Ordinal) && !v.Contains("cloudinit", StringComparison.Ordinal)) return key;
        }
        return null;
    }

    /// <summary>true: must grow; false: already that size; null: larger than wanted (never shrink).</summary>
    private static bool? NeedsResize(VmConfig config, string diskKey, PreparedTarget prepared)
    {
        var want = (long)prepared.Settings.DiskGb * 1024 * 1024 * 1024;
        var have = config.DiskSizeBytes(diskKey);
        if (have is null) return true;
        return have < want ? true : have == want ? false : null;
    }

    private static RelocationException ShrinkRefused(PreparedTarget prepared, VmConfig config, string diskKey, string what) =>
        new("ProvisionDiskShrinkRefused", FailureKind.InvalidData,
            $"{what} has {diskKey} of {config.DiskSizeBytes(diskKey) / (1024.0 * 1024 * 1024):0.#} GiB, larger than disk_gb {prepared.Settings.DiskGb} of profile {prepared.ProfileName}; disks are never shrunk. Raise disk_gb.",
            target: prepared.Target.Hostname);

    private static VmConfigUpdate ConfigDiff(VmConfig current, VmConfigUpdate desired)
    {
        var diff = new VmConfigUpdate();
        foreach (var (key, value) in desired.Values)
        {
            var have = current[key];
            var same = key switch
            {
                "sshkeys" => have is not null && Normalise(Uri.UnescapeDataString(have)) == Normalise(Uri.UnescapeDataString(value)),
                "net0" => have is not null && string.Equals(have, value, StringComparison.OrdinalIgnoreCase),
                // agent: only the enabled flag is ours; the template's sub-options (fstrim_cloned_disks, type, ...) stay
                "agent" => have is not null && AgentEnabled(have) == AgentEnabled(value),
                _ => have == value,
            };
            if (!same) diff.Set(key, value);
        }
        return diff;

        static string AgentEnabled(string agent)
        {
            var first = agent.Split(',')[0];
            return first.StartsWith("enabled=", StringComparison.Ordinal) ? first["enabled=".Length..] : first;
        }

        static string Normalise(string keys) => string.Join('\n', keys.Replace("\r\n", "\n").Split('\n').Select(k => k.Trim()).Where(k => k.Length > 0));
    }

    private static string? StaticAddress(string ciNetwork)
    {
        var m = System.Text.RegularExpressions.Regex.Match(ciNetwork, @"(?:^|ip=)(\d{1,3}(?:\.\d{1,3}){3})/\d+");
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>
    /// Runs a call, retrying "VM is locked" / "can't lock file … got timeout" with exponential backoff for at most
    /// <see cref="ProvisionOptions.LockRetryAttempts"/> attempts and <see cref="ProvisionOptions.LockTimeout"/>; then ResourceBusy.
    /// </summary>
    /// <summary>Calls refused with "VM is locked" / "can't lock file … got timeout" run again with bounded backoff, then stop with ResourceBusy.</summary>
    private RetryPolicy LockRetry() => new(e => e is RelocationException re && IsLockContention(re))
    {
        Attempts = _options.LockRetryAttempts,
        InitialDelay = _options.LockRetryInitialDelay,
        MaxDelay = _options.LockRetryMaxDelay,
        Bound = _options.LockTimeout,
        GiveUp = (e, attempts, spent) => new RelocationException("ProvisionVmLocked", FailureKind.ResourceBusy,
            $"{e.Message} (still locked after {attempts} attempt(s) in {spent.TotalSeconds:0.#} s); " +
            "try again when the lock holder (backup, migration, another client) has finished.",
            target: (e as RelocationException)?.Target, inner: e),
    };

    private Task<T> Retry<T>(Func<CancellationToken, Task<T>> action, CancellationToken ct) => _lockRetry.RunAsync(action, ct);

    private static bool IsLockContention(RelocationException e) => e switch
    {
        ProxmoxApiException api => api.IsLockContention,
        ProxmoxTaskFailedException task => ProxmoxApiException.IsLockMessage(task.ExitStatus),
        _ => false,
    };

    /// <summary>Polls status/current until the VM runs (an HA start), bounded by the task timeout.</summary>
    private async Task WaitForRunningAsync(ProxmoxClient client, string node, int id, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + _options.TaskTimeout;
        while (!(await client.GetVmStatusAsync(node, id, ct).ConfigureAwait(false)).IsRunning)
        {
            if (DateTimeOffset.UtcNow >= deadline)
            {
                throw new RelocationException("ProvisionHaStartTimeout", FailureKind.OperationTimeout,
                    $"VM {id} on {node} is HA-managed and was not started by the HA stack within {_options.TaskTimeout.TotalSeconds:0} s; check ha-manager status.",
                    target: id);
            }
            await Task.Delay(_options.PollInterval, ct).ConfigureAwait(false);
        }
    }

    private Task Retry(Func<CancellationToken, Task> action, CancellationToken ct) =>
        Retry<bool>(async c => { await action(c).ConfigureAwait(false); return true; }, ct);

    private async Task WaitTaskAsync(ProxmoxClient client, Upid upid, string step, Action<string, string, double?> report, CancellationToken ct)
    {
        var waiter = new ProxmoxTaskWaiter(client, _options.TaskWait ?? new TaskWaitOptions
        {
            Timeout = _options.TaskTimeout,
            InitialPollInterval = TimeSpan.FromTicks(Math.Min(_options.PollInterval.Ticks, TimeSpan.FromMilliseconds(500).Ticks)),
            MaxPollInterval = _options.PollInterval,
        });
        var progress = new SyncProgress<TaskProgress>(p => report(step, $"{p.Upid.Type} {p.Status}{(p.LastLine is null ? "" : ": " + p.LastLine)}", p.Percent));
        await waiter.WaitAsync(upid, progress, ct).ConfigureAwait(false);
    }

    private static void EnsureJournalHeader(ProvisionJournal journal, PreparedTarget prepared, int vmId, int template)
    {
        journal.VmId = vmId;
        journal.HypervisorHost = prepared.Host.HostId;
        journal.Node = prepared.Host.Node;
        journal.TemplateVmId = template;
    }

    private static IReadOnlyList<ProvisionStep> Merge(ProvisionPlan plan, Dictionary<string, (ProvisionStepState State, string? Upid, string? Note)> done) =>
        plan.Steps.Select(s => done.TryGetValue(s.Name, out var d) ? s with { State = d.State, Upid = d.Upid, Note = d.Note ?? s.Note } : s).ToList();

    // ------------------------------------------------------------------ VMID

    private (int Min, int Max) SiteRange(PreparedTarget prepared)
    {
        var hv = prepared.Target.ProxmoxHost!;
        var policy = _estate.Policy;
        if (policy is null || !policy.Hosts.TryGetValue(hv, out var host) || host.Site is null ||
            !policy.Sites.TryGetValue(host.Site, out var site) || site.VmidMin is not { } min || site.VmidMax is not { } max || min > max)
        {
            throw new RelocationException("ProvisionVmIdRangeMissing", FailureKind.InvalidData,
                $"{prepared.Target.Hostname} has no vm_id and the site of {hv} declares no vmid_min/vmid_max range in {_estate.Layout.RelativePath(EstateFile.PlacementPolicy)}; set vm_id or the range.",
                prepared.Target.Location, prepared.Target.Hostname);
        }
        return (min, max);
    }

    private async Task<int?> LowestFreeVmIdAsync(ProxmoxClient client, PreparedTarget prepared, bool preview, byte[]? manifestBytes, CancellationToken ct)
    {
        var (min, max) = SiteRange(prepared);
        var used = new HashSet<int>(manifestBytes is null
            ? (_estate.Manifest?.VmTargets ?? []).Where(v => v.VmId is not null).Select(v => v.VmId!.Value)
            : ManifestVmIds(manifestBytes));
        foreach (var r in await client.GetClusterResourcesAsync("vm", ct).ConfigureAwait(false))
        {
            if (r.VmId is { } v) used.Add(v);
        }
        lock (_previewReservations)
        {
            if (preview) used.UnionWith(_previewReservations);
        }
        for (var id = min; id <= max; id++)
        {
            if (used.Contains(id)) continue;
            if (!await client.IsVmIdFreeAsync(id, ct).ConfigureAwait(false)) continue;
            if (preview)
            {
                lock (_previewReservations)
                {
                    _previewReservations.Add(id);
                }
            }
            return id;
        }
        return null;
    }

    private async Task<int> ReserveVmIdAsync(ProxmoxClient client, PreparedTarget prepared, List<string> changedFiles, Func<int, ProvisionResult> step, CancellationToken ct)
    {
        var hostname = prepared.Target.Hostname;
        using var lease = EstateLease.Acquire(Root, $"New-ProxmoxVm {hostname}: reserve VMID", _options.LeaseWait, ct);
        using var tx = EstateTransaction.Begin(lease);
        var bytes = tx.Read(ManifestFile) ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {ManifestFile} does not exist.", target: ManifestFile);
        var path = $"vm_targets[?hostname={hostname}].vm_id";
        if (YamlScalarEditor.ReadScalar(bytes, path, ManifestFile) is { } already && int.TryParse(already, NumberStyles.None, CultureInfo.InvariantCulture, out var taken))
        {
            return taken; // another run reserved it since the estate was loaded
        }
        var id = await LowestFreeVmIdAsync(client, prepared, preview: false, bytes, ct).ConfigureAwait(false)
            ?? throw new RelocationException("ProvisionVmIdRangeExhausted", FailureKind.ResourceUnavailable,
                $"No VMID of the site's range ({SiteRange(prepared).Min}-{SiteRange(prepared).Max}) is free for {hostname}.", target: hostname);
        tx.EditYaml(ManifestFile, [YamlEdit.Set(path, id.ToString(CultureInfo.InvariantCulture), YamlEdit.ExpectAbsent)]);
        CommitRecorded(tx, () => step(id));
        changedFiles.Add(ManifestFile);
        return id;
    }

    /// <summary>The VMID came from the site's range through this estate's reservation (not chosen by hand).</summary>
    private static bool ReservedByThisEstate(ProvisionJournal journal, int id) =>
        journal.VmId == id && journal.Step("reserve-vmid") is { State: "done" };

    /// <summary>Replaces a reserved vm_id that another client took by the lowest free id of the range, under the lease.</summary>
    private async Task<int> ReplaceReservedVmIdAsync(ProxmoxClient client, PreparedTarget prepared, int taken, List<string> changedFiles, Func<int, ProvisionResult> step,
        CancellationToken ct)
    {
        var hostname = prepared.Target.Hostname;
        using var lease = EstateLease.Acquire(Root, $"New-ProxmoxVm {hostname}: replace VMID {taken}", _options.LeaseWait, ct);
        using var tx = EstateTransaction.Begin(lease);
        var bytes = tx.Read(ManifestFile) ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {ManifestFile} does not exist.", target: ManifestFile);
        var id = await LowestFreeVmIdAsync(client, prepared, preview: false, bytes, ct).ConfigureAwait(false)
            ?? throw new RelocationException("ProvisionVmIdRangeExhausted", FailureKind.ResourceUnavailable,
                $"No VMID of the site's range ({SiteRange(prepared).Min}-{SiteRange(prepared).Max}) is free for {hostname}.", target: hostname);
        tx.EditYaml(ManifestFile, [YamlEdit.Set($"vm_targets[?hostname={hostname}].vm_id", id.ToString(CultureInfo.InvariantCulture),
            taken.ToString(CultureInfo.InvariantCulture))]);
        CommitRecorded(tx, () => step(id) with { Summary = $"{hostname}: VMID {taken} was taken outside the estate; VMID {id} reserved in {ManifestFile} instead (step reserve-vmid); provisioning continues." });
        if (!changedFiles.Contains(ManifestFile)) changedFiles.Add(ManifestFile);
        return id;
    }

    private IEnumerable<int> ManifestVmIds(byte[] bytes)
    {
        var text = LocatedYamlReader.Decode(bytes, ManifestFile, sha256: "").Text;
        if (LocatedYamlReader.Parse(text, ManifestFile) is not YMapping root || root["vm_targets"] is not YSequence targets)
        {
            yield break;
        }
        foreach (var item in targets.Items.OfType<YMapping>())
        {
            if (item["vm_id"] is YScalar s && int.TryParse(s.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                yield return id;
            }
        }
    }

    // ------------------------------------------------------------------ record

    /// <summary>Commits an estate write of the run with its receipt in the transaction (when the options name a ledger).</summary>
    private RelocationReceipt? CommitRecorded(EstateTransaction tx, Func<ProvisionResult> result)
    {
        if (_options.Receipts is { } store && _options.Receipt is { } build)
        {
            return tx.Commit(new CommitReceipt
            {
                Store = store,
                AnchorIn = ManifestFile,
                Build = (outcome, _) => build(result(), outcome),
            }).Receipt;
        }
        tx.Commit();
        return null;
    }

    private bool Record(PreparedTarget prepared, string? address, Func<string, ProvisionResult> result, CancellationToken ct, out string note,
        out RelocationReceipt? receipt)
    {
        receipt = null;
        var hostname = prepared.Target.Hostname;
        using var lease = EstateLease.Acquire(Root, $"New-ProxmoxVm {hostname}: record", _options.LeaseWait, ct);
        using var tx = EstateTransaction.Begin(lease);
        var bytes = tx.Read(ManifestFile) ?? throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
            $"The relocation manifest {ManifestFile} does not exist.", target: ManifestFile);
        var statusPath = $"vm_targets[?hostname={hostname}].status";
        var currentStatus = YamlScalarEditor.ReadScalar(bytes, statusPath, ManifestFile);
        var edits = new List<YamlEdit>();
        var notes = new List<string>();
        if (currentStatus is null or "planned" or "provisioned")
        {
            edits.Add(YamlEdit.Set(statusPath, "provisioned", currentStatus ?? YamlEdit.ExpectAbsent));
        }
        else
        {
            notes.Add($"status stays {currentStatus} (already past provisioned)");
        }
        if (address is not null)
        {
            edits.Add(YamlEdit.Set($"vm_targets[?hostname={hostname}].address", address));
        }
        if (!string.Equals(prepared.Target.Profile, prepared.ProfileName, StringComparison.Ordinal))
        {
            // -Profile chose another profile than the manifest's: record what the VM was built with.
            edits.Add(YamlEdit.Set($"vm_targets[?hostname={hostname}].profile", prepared.ProfileName));
        }
        tx.EditYaml(ManifestFile, edits);
        if (tx.ChangedFiles.Count == 0)
        {
            note = $"{ManifestFile} already records {hostname}" + (notes.Count > 0 ? "; " + string.Join("; ", notes) : "");
            return false;
        }
        var recordNote = $"{ManifestFile}: status provisioned{(address is null ? "" : ", address " + address)}" + (notes.Count > 0 ? "; " + string.Join("; ", notes) : "");
        receipt = CommitRecorded(tx, () => result(recordNote));
        note = recordNote;
        return true;
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
