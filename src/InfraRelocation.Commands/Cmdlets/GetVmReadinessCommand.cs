using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Remote;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Get-VmReadiness: the named readiness checks of a VM, each OK, FAIL or SKIP with evidence (capability infra.vm.ready.status).
/// Every VM named (by parameter or pipeline) is checked once the input ends, up to -ThrottleLimit at a time; the
/// results come out in input order.
/// </summary>
[Cmdlet(VerbsCommon.Get, "VmReadiness")]
[OutputType(typeof(ReadinessCheck), typeof(ReadinessReceipt))]
public sealed class GetVmReadinessCommand : RemoteCmdlet
{
    /// <summary>The VM's hostname (its vm_targets hostname and ssh.targets id).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostnameCompleter))]
    public string[] Hostname { get; set; } = [];

    /// <summary>The VM profile whose readiness flags apply; defaults to the VM target's profile in the manifest.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ProfileCompleter))]
    public string? Profile { get; set; }

    /// <summary>The Proxmox VMID; defaults to the manifest's vm_id (must match it when both are set).</summary>
    [Parameter]
    [ValidateRange(100, 999999999)]
    [ArgumentCompleter(typeof(VmIdCompleter))]
    public int? VmId { get; set; }

    /// <summary>Proxmox API token (user name = token id, password = secret) for vm_running and qemu_agent_running; else the estate config's secret source.</summary>
    [Parameter]
    [Credential]
    public PSCredential? ApiToken { get; set; }

    /// <summary>How many VMs are checked at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = BoundedParallel.DefaultParallelism;

    private Core.Estate.EstateSnapshot? _estate;
    private readonly List<(Core.Receipts.RunContext Run, ReadinessTarget Target)> _pending = [];
    private IVmStatusSource? _vmStatus;
    private bool _vmStatusResolved;

    // On the pipeline thread (the token may come from a SecretManagement vault).
    private IVmStatusSource? VmStatus()
    {
        if (_vmStatusResolved) return _vmStatus;
        _vmStatusResolved = true;
        ProxmoxSettings settings;
        try { settings = ProxmoxSettings.Load(Layout); }
        catch (RelocationException ex)
        {
            WriteWarning($"Proxmox settings unusable, vm_running and qemu_agent_running are skipped: {ex.Message}");
            return null;
        }
        if (settings.Hosts.Count == 0) return null;
        try
        {
            var token = ProxmoxTokenResolver.Resolve(this, settings, ApiToken);
            _vmStatus = new ProxmoxVmStatusSource(settings, token, TimeSpan.FromSeconds(Math.Max(Timeout, 10)));
        }
        catch (RelocationException ex)
        {
            _vmStatus = new UnavailableVmStatusSource(settings, ex.Message);
        }
        return _vmStatus;
    }

    protected override void ProcessRecord()
    {
        _estate ??= LoadEstate();
        foreach (var host in Hostname)
        {
            var run = BeginRun("infra.vm.ready.status", RunMode.Read);
            run.RecordInputs(_estate.InputDigests);
            try
            {
                _pending.Add((run, ReadinessChecker.ResolveTarget(_estate, host, Profile, VmId)));
            }
            catch (RelocationException ex)
            {
                WriteRelocationError(ex);
            }
        }
    }

    protected override void EndProcessing()
    {
        try
        {
            if (_pending.Count > 0 && _estate is { } estate) CheckAll(estate);
        }
        finally
        {
            (_vmStatus as IDisposable)?.Dispose();
            base.EndProcessing();
        }
    }

    // The checks of every VM run on worker threads, -ThrottleLimit at a time; objects and receipts are written here,
    // on the pipeline thread, in input order.
    private void CheckAll(Core.Estate.EstateSnapshot estate)
    {
        var vmStatus = VmStatus();
        var ssh = SshOptions(TimeSpan.FromSeconds(Math.Max(Timeout, 30)));
        var targets = _pending.Select(p => p.Target).ToList();
        var label = targets.Count == 1 ? $"Readiness {targets[0].Hostname}" : $"Readiness of {targets.Count} VMs";
        var results = Pump(label, async (progress, ct) =>
        {
            var finished = 0;
            return await BoundedParallel.ForEachAsync(targets, async (target, token) =>
            {
                var checks = await new ReadinessChecker(Pool, vmStatus).CheckAsync(estate, target, ssh, token).ConfigureAwait(false);
                progress(new FanOutProgress(label, target.Hostname, Interlocked.Increment(ref finished), targets.Count));
                return checks;
            }, ThrottleLimit, ct).ConfigureAwait(false);
        });
        for (var i = 0; i < results.Count; i++)
        {
            var (run, target) = _pending[i];
            if (results[i].Error is { } error)
            {
                WriteRelocationError(error as RelocationException ?? new RelocationException("UnexpectedFailure", FailureKind.InvalidOperation,
                    $"Readiness of {target.Hostname} failed: {error.Message}", target: target.Hostname, inner: error));
                continue;
            }
            var checks = results[i].Value!;
            var host = target.Hostname;
            foreach (var c in checks) WriteObject(c);
            var failed = checks.Where(c => c.Status == RemoteCheckStatus.Fail).ToList();
            var findings = failed.Select(c => RelocationFinding.Error($"READINESS.{c.Check}", $"{host}: {c.Check} failed: {c.Evidence}", null, null, host)).ToList();
            EmitReceipt(run, new ReadinessReceipt
            {
                Hostname = host,
                Profile = target.Profile,
                VmId = target.VmId,
                Checks = checks,
                IsReady = failed.Count == 0,
                Findings = findings,
                Outcome = failed.Count == 0 ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
                Summary = $"{host} ({target.Profile}): {(failed.Count == 0 ? "ready" : "NOT ready")}: " +
                          $"{checks.Count(c => c.Status == RemoteCheckStatus.Ok)} OK, {failed.Count} FAIL, {checks.Count(c => c.Status == RemoteCheckStatus.Skip)} SKIP",
            });
        }
    }
}
