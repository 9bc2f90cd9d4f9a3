using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Provisioning;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// New-ProxmoxVm: builds the VMs of manifest VM targets on Proxmox (capability infra.vm.provision): clone, configure,
/// resize, start, wait for the guest agent's address, record status and address in the manifest. Idempotent and
/// resumable; several targets run in parallel up to -ThrottleLimit.
/// </summary>
[Cmdlet(VerbsCommon.New, "ProxmoxVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ProvisionReceipt))]
public sealed class NewProxmoxVmCommand : EstateCmdlet
{
    private const string Capability = "infra.vm.provision";

    private static readonly Dictionary<string, (int From, int To)> s_stepSpan = new(StringComparer.Ordinal)
    {
        ["connect"] = (0, 2), ["reserve-vmid"] = (2, 5), ["clone"] = (5, 50), ["unlock"] = (50, 52), ["configure"] = (52, 58),
        ["resize"] = (58, 65), ["start"] = (65, 75), ["address"] = (75, 92), ["record"] = (92, 99), ["done"] = (100, 100),
    };

    private readonly List<string> _hostnames = [];

    /// <summary>The VM target's hostname (vm_targets[].hostname); binds from the pipeline by property name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostnameCompleter))]
    public string[] Hostname { get; set; } = [];

    /// <summary>The VM profile; default: the target's profile.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ProfileCompleter))]
    public string? Profile { get; set; }

    /// <summary>Overrides the profile's template VMID.</summary>
    [Parameter]
    [ValidateRange(100, 999999999)]
    public int TemplateVmId { get; set; }

    /// <summary>The API token: user name = token id (USER@REALM!TOKENID), password = secret. Default: the estate config.</summary>
    [Parameter]
    [Credential]
    public PSCredential? ApiToken { get; set; }

    /// <summary>How many targets are provisioned at once.</summary>
    [Parameter]
    [ValidateRange(1, 32)]
    public int ThrottleLimit { get; set; } = 1;

    /// <summary>Seconds each Proxmox task and the wait for the guest agent's address may take.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int Timeout { get; set; } = 1800;

    /// <summary>Seconds a VM may stay locked (backup, another client) before the run stops with ResourceBusy.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int LockTimeout { get; set; } = 120;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, RunContext> _runs = new(StringComparer.Ordinal);

    protected override void ProcessRecord()
    {
        foreach (var name in Hostname)
        {
            if (!_hostnames.Contains(name, StringComparer.Ordinal)) _hostnames.Add(name);
        }
    }

    /// <summary>A target this run provisions may lack its vm_id: the run takes one from the site range and writes it.</summary>
    private Func<RelocationFinding, bool> MissingVmIdOfThisRun(EstateSnapshot estate)
    {
        var paths = (estate.Manifest?.VmTargets ?? []).Where(v => v.VmId is null && _hostnames.Contains(v.Hostname, StringComparer.Ordinal))
            .Select(v => $"vm_targets[{v.Index}].vm_id").ToHashSet(StringComparer.Ordinal);
        return f => f.RuleId is "SCHEMA.MissingField" or "D37.VmidMissing"
            && paths.Any(p => f.DocumentPath == p || f.DocumentPath == p[..^".vm_id".Length] || f.Message.Contains($"'{p}'", StringComparison.Ordinal));
    }

    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout));
        var settings = Run(() => ProxmoxSettings.Load(Layout));
        var options = new ProvisionOptions
        {
            TaskTimeout = TimeSpan.FromSeconds(Timeout),
            AgentTimeout = TimeSpan.FromSeconds(Timeout),
            LockTimeout = TimeSpan.FromSeconds(LockTimeout),
            TemplateOverride = MyInvocation.BoundParameters.ContainsKey(nameof(TemplateVmId)) ? TemplateVmId : null,
            PollInterval = PollIntervalFromEnvironment(),
            // Each manifest write of a run records its receipt in the same transaction (docs/design/ledger.md).
            Receipts = Receipts,
            Receipt = (result, written) =>
            {
                var run = _runs[result.Plan.Target.Hostname];
                return run.Stamp(ToReceipt(result.Plan, result.Outcome, result.Steps, result.Upids, result.Address, result.Resumed, result.Summary) with
                {
                    TransactionId = written.TransactionId,
                    Files = written.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList(),
                });
            },
        };
        var executor = new ProvisionExecutor(estate, settings, options);
        var whatIf = IsWhatIf();
        var clients = new Dictionary<string, ProxmoxClient>(StringComparer.Ordinal);
        ProxmoxApiToken? token = null;
        var approved = new List<(PreparedTarget Prepared, ProvisionPlan Plan, ProxmoxClient Client, RunContext Run)>();
        try
        {
            // 1. On the pipeline thread: offline checks, read-only plan, ShouldProcess. Nothing changes here.
            foreach (var hostname in _hostnames)
            {
                var run = BeginRun(Capability, whatIf ? RunMode.Preview : RunMode.Execute);
                run.RecordInputs(estate.InputDigests);
                PreparedTarget prepared;
                ProvisionPlan plan;
                ProxmoxClient client;
                try
                {
                    prepared = executor.Prepare(hostname, Profile, forExecute: !whatIf);
                    if (HostChangeRefusal(estate, $"provisioning {hostname}", MissingVmIdOfThisRun(estate)) is { } refusal) throw refusal;
                    token ??= ProxmoxTokenResolver.Resolve(this, settings, ApiToken);
                    if (!clients.TryGetValue(prepared.Host.HostId, out client!))
                    {
                        clients[prepared.Host.HostId] = client = settings.CreateClient(prepared.Host.HostId, token, TimeSpan.FromSeconds(60));
                    }
                    var c = client;
                    plan = executor.PreviewAsync(prepared, c, CancelToken).GetAwaiter().GetResult();
                }
                catch (OperationCanceledException ex) when (CancelToken.IsCancellationRequested)
                {
                    throw new PipelineStoppedException(ex.Message);
                }
                catch (RelocationException ex) when (Core.Governance.MutationGuard.IsUnreadableEstate(ex))
                {
                    Fail(ex);
                    return;
                }
                catch (RelocationException ex)
                {
                    WriteRelocationError(ex);
                    EmitReceipt(run, new ProvisionReceipt
                    {
                        Target = hostname,
                        Profile = Profile,
                        Outcome = ex.Findings.Count > 0 ? ReceiptOutcome.Blocked : ReceiptOutcome.Failed,
                        Findings = ex.Findings,
                        Summary = $"{hostname}: {ex.Message.Split('\n')[0]}",
                    });
                    continue;
                }

                var lines = plan.Describe().ToList();
                foreach (var line in lines) WriteVerbose(line);
                if (whatIf)
                {
                    // ShouldProcess prints "What if: ..." with the whole plan; the receipt carries it too.
                    ShouldProcess(string.Join(Environment.NewLine, lines), "", "New-ProxmoxVm");
                    EmitReceipt(run, ToReceipt(plan, ReceiptOutcome.Previewed, plan.Steps, [], null, false,
                        $"{hostname}: preview of {plan.Steps.Count(s => s.State == ProvisionStepState.Planned)} step(s) on {plan.HypervisorHost}, VMID {plan.VmId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none free)"}; nothing sent."));
                    continue;
                }
                var vmText = plan.VmId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "from the site's range";
                if (!ShouldProcess($"VM target {hostname} (VMID {vmText}, profile {plan.ProfileName}) on {plan.HypervisorHost}",
                        "Provision the Proxmox VM"))
                {
                    continue;
                }
                approved.Add((prepared, plan, client, run));
            }

            if (approved.Count == 0) return;

            // Journaled before anything is sent: the receipt each run leaves if this process dies (issue 16.1).
            var journals = approved.Select(a => JournalHostChange(a.Run, ToReceipt(a.Plan, ReceiptOutcome.Failed, a.Plan.Steps, [], null, false,
                $"{a.Prepared.Target.Hostname}: interrupted while provisioning on {a.Plan.HypervisorHost}; its result is unknown. Run New-ProxmoxVm again: it continues from its journal."))).ToList();
            foreach (var a in approved) _runs[a.Prepared.Target.Hostname] = a.Run;

            // 2. The executors, ThrottleLimit at a time on the thread pool (they never touch the PowerShell host); the
            // pump writes each target's progress from this thread while they run.
            var results = new ProvisionResult?[approved.Count];
            using var pump = new PipelinePump(this);
            Task<IReadOnlyList<FanOutResult<int, ProvisionResult>>> fanOut;
            try
            {
                fanOut = pump.Run("New-ProxmoxVm", (_, ct) => BoundedParallel.ForEachAsync(Enumerable.Range(0, approved.Count).ToList(),
                    async (i, token) => results[i] = await executor.ExecuteAsync(approved[i].Prepared, approved[i].Client,
                        new PostedProgress(p => pump.Post(ProgressOf(p, i + 1))), token).ConfigureAwait(false),
                    ThrottleLimit, ct), CancelToken);
            }
            catch (PipelineStoppedException)
            {
                // However the pipeline stopped, the pump has cancelled the executors and waited for them.
                RecordCancelled(approved.Select(a => (a.Plan, a.Run)).ToList(), journals, results);
                throw;
            }
            var outcomes = Run(() => fanOut.GetAwaiter().GetResult());

            // 3. Back on the pipeline thread: errors and receipts in input order.
            for (var i = 0; i < approved.Count; i++)
            {
                // A failure outside the executor's own results (a bug, or a journal it cannot read) stops the command here.
                if (outcomes[i].Error is { } unexpected) Run(() => System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(unexpected));
                var result = outcomes[i].Value!;
                WriteProgress(new ProgressRecord(i + 1, $"New-ProxmoxVm {approved[i].Prepared.Target.Hostname}", result.Outcome.ToString())
                {
                    RecordType = ProgressRecordType.Completed,
                });
                if (result.Error is { } error)
                {
                    WriteRelocationError(error);
                }
                else
                {
                    WriteVerbose(result.Summary);
                }
                if (result.Receipt is { } recorded)
                {
                    // recorded with the manifest write of the result
                    WriteObject(recorded);
                    PendingReceipts.Discard(journals[i]);
                    continue;
                }
                EmitHostChangeReceipt(approved[i].Run, ToReceipt(result.Plan, result.Outcome, result.Steps, result.Upids, result.Address, result.Resumed, result.Summary,
                    result.Error?.Findings ?? []), journals[i]);
            }
        }
        finally
        {
            foreach (var c in clients.Values) c.Dispose();
        }
    }

    /// <summary>One target's progress bar: the step's share of the whole run (s_stepSpan), the step and what it does.</summary>
    private static ProgressRecord ProgressOf(ProvisionProgress e, int id)
    {
        var (from, to) = s_stepSpan.TryGetValue(e.Step, out var span) ? span : (0, 99);
        var percent = from + (int)((to - from) * Math.Clamp((e.Percent ?? 0) / 100.0, 0, 1));
        return new ProgressRecord(id, $"New-ProxmoxVm {e.Hostname}", $"{e.Step}: {e.Status}")
        {
            PercentComplete = Math.Clamp(percent, 0, 100),
            CurrentOperation = e.Step,
        };
    }

    /// <summary>
    /// Ctrl+C (or a pipeline stopped by a later command's error): once the executors have stopped (each keeps its journal), every target without a recorded result gets a
    /// Cancelled receipt that says how to resume, in place of the one journaled before it started (the pipeline is
    /// stopping, so the receipts go to the ledger only). A target that finished before Ctrl+C keeps its own receipt.
    /// </summary>
    private void RecordCancelled(IReadOnlyList<(ProvisionPlan Plan, RunContext Run)> targets, IReadOnlyList<string> journals, ProvisionResult?[] results)
    {
        for (var i = 0; i < targets.Count; i++)
        {
            var (plan, run) = targets[i];
            var hostname = plan.Target.Hostname;
            var receipt = results[i] is { } result
                ? result.Receipt is null ? ToReceipt(result.Plan, result.Outcome, result.Steps, result.Upids, result.Address, result.Resumed, result.Summary, result.Error?.Findings ?? []) : null
                : ToReceipt(plan, ReceiptOutcome.Cancelled, [], [], null, false,
                    $"{hostname}: cancelled (Ctrl+C or a stopped pipeline) while provisioning on {plan.HypervisorHost}; " +
                    (File.Exists(Path.Combine(Layout.Root, ProvisionJournal.RelativePathFor(hostname)))
                        ? $"the journal {ProvisionJournal.RelativePathFor(hostname)} keeps the steps done so far. "
                        : "no step had been journaled. ") +
                    $"To resume, run the same command again: New-ProxmoxVm -Hostname {hostname}");
            try
            {
                if (receipt is not null) Receipts.Append(run.Stamp(receipt));
                PendingReceipts.Discard(journals[i]);
            }
            catch (RelocationException)
            {
                // The ledger refused: the receipt journaled before the run stays pending, and the next run records it.
            }
        }
    }

    private static ProvisionReceipt ToReceipt(ProvisionPlan plan, ReceiptOutcome outcome, IReadOnlyList<ProvisionStep> steps, IReadOnlyList<string> upids,
        string? address, bool resumed, string summary, IReadOnlyList<RelocationFinding>? findings = null) => new()
        {
            Target = plan.Target.Hostname,
            Profile = plan.ProfileName,
            HypervisorHost = plan.HypervisorHost,
            Node = plan.Node,
            VmId = plan.VmId,
            TemplateVmId = plan.Settings.TemplateVmId,
            Settings = plan.Settings.ToDictionary(),
            Steps = steps,
            Upids = upids,
            Address = address,
            Notes = plan.Notes,
            Resumed = resumed,
            Outcome = outcome,
            Summary = summary,
            Findings = findings ?? [],
        };

    private bool IsWhatIf() =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) ? w is SwitchParameter s ? s.IsPresent : w is true
            : GetVariableValue("WhatIfPreference") is { } pref && LanguagePrimitives.IsTrue(pref);

    /// <summary>Tests and the demo shorten the polling of the emulator through this variable.</summary>
    private static TimeSpan PollIntervalFromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("INFRA_RELOCATION_PVE_POLL_MS"), out var ms) && ms is >= 10 and <= 60000
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.FromSeconds(1);

    /// <summary>Progress reported on a worker thread, handed straight to the pump (not through a SynchronizationContext).</summary>
    private sealed class PostedProgress(Action<ProvisionProgress> post) : IProgress<ProvisionProgress>
    {
        public void Report(ProvisionProgress value) => post(value);
    }
}
