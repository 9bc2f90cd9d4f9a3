using System.Text.RegularExpressions;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Model;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Remote;

/// <summary>What the hypervisor says about a VM (vm_running, qemu_agent_running).</summary>
/// <param name="AgentRunning">Null when unknown (e.g. the VM is stopped).</param>
public sealed record VmStatusObservation(bool Running, bool? AgentRunning, string Evidence);

/// <summary>Reads a VM's status from its hypervisor (the Proxmox API). Null source: those checks are SKIP.</summary>
public interface IVmStatusSource
{
    /// <summary>False when this source has no connection for the hypervisor (the checks are then SKIP).</summary>
    bool Covers(string hypervisorId);
    Task<VmStatusObservation> GetAsync(string hypervisorId, int vmId, CancellationToken cancellationToken);
}

/// <summary>The VM a readiness run is about.</summary>
public sealed record ReadinessTarget(string Hostname, string Profile, int? VmId, string? Hypervisor);

/// <summary>
/// infra.vm.ready.status: the named checks vm_running, ssh_target_binding, ssh_reachability, tailscale_connected,
/// qemu_agent_running, cron_running, backup_binding, each OK, FAIL or SKIP with its evidence. A profile flag set
/// to false is SKIP (the reference treated false as true). VM-side checks share one pooled SSH connection.
/// </summary>
public sealed partial class ReadinessChecker(SshSessionPool pool, IVmStatusSource? vmStatus = null)
{
    public const string NoProxmox = "no Proxmox connection configured";

    /// <summary>Finds the VM target, its profile (-Profile, else the manifest's <c>profile</c>) and VMID.</summary>
    public static ReadinessTarget ResolveTarget(EstateSnapshot estate, string hostname, string? profile, int? vmId)
    {
        var vm = estate.Manifest?.VmTargets.FirstOrDefault(v => string.Equals(v.Hostname, hostname, StringComparison.Ordinal));
        if (vm?.VmId is { } mid && vmId is { } given && mid != given)
            throw new RelocationException("VmIdMismatch", FailureKind.InvalidArgument,
                $"-VmId {given} does not match vm_id {mid} of {hostname} in the manifest.", vm.LocationOf("vm_id"), hostname);
        var name = profile ?? vm?.Profile ?? throw new RelocationException("VmProfileNotGiven", FailureKind.InvalidArgument,
            $"No profile for {hostname}: pass -Profile, or set profile on its vm_targets entry.", vm?.Location, hostname);
        if (estate.Profiles is null || !estate.Profiles.Profiles.ContainsKey(name))
            throw new RelocationException("VmProfileNotFound", FailureKind.ObjectNotFound,
                $"Profile '{name}' is not in {estate.Layout.RelativePath(Core.Estate.EstateFile.VmProfiles)}.", target: name);
        return new ReadinessTarget(hostname, name, vmId ?? vm?.VmId, vm?.ProxmoxHost);
    }

    /// <summary>True when an enabled backup inventory target names this exact VMID (<c>qemu-N-</c> or <c>vm-N-</c>, not a prefix).</summary>
    public static BackupTarget? BackupBinding(BackupInventory? inventory, int vmId)
    {
        var token = new Regex($"(?<![A-Za-z0-9])(qemu|vm)-{vmId}-", RegexOptions.CultureInvariant);
        return inventory?.Targets.FirstOrDefault(t => t.Enabled && (token.IsMatch(t.Glob ?? "") || token.IsMatch(t.Name)));
    }

    public async Task<IReadOnlyList<ReadinessCheck>> CheckAsync(EstateSnapshot estate, ReadinessTarget target, SshResolveOptions sshOptions,
        CancellationToken cancellationToken = default)
    {
        var profile = estate.Profiles!.Profiles[target.Profile];
        var r = profile.Readiness;
        var resolver = new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, sshOptions);
        var endpoint = resolver.TryResolve(target.Hostname, out var whyNoBinding);
        ReadinessCheck Row(string check, RemoteCheckStatus status, string evidence) =>
            new() { Hostname = target.Hostname, Check = check, Status = status, Evidence = evidence };
        const string Off = "switched off by the profile (false)";

        // Hypervisor side (Proxmox API).
        Task<VmStatusObservation?> vmTask = Task.FromResult<VmStatusObservation?>(null);
        string? vmSkip = null;
        if (vmStatus is null) vmSkip = NoProxmox;
        else if (target.VmId is null) vmSkip = "no VMID (manifest vm_id or -VmId)";
        else if (target.Hypervisor is null) vmSkip = "no proxmox_host for this VM in the manifest";
        else if (!vmStatus.Covers(target.Hypervisor)) vmSkip = $"{NoProxmox} for {target.Hypervisor}";
        else if (r.RequireRunning != false || r.RequireQemuAgentRunning != false)
            vmTask = GetVmStatusAsync(target.Hypervisor, target.VmId.Value, cancellationToken);

        // VM side (SSH), concurrently on one connection.
        async Task<ReadinessCheck> Ssh(string check, bool? flag, string command, Func<SshCommandResult, (bool, string)> judge)
        {
            if (flag == false) return Row(check, RemoteCheckStatus.Skip, Off);
            if (endpoint is null) return Row(check, RemoteCheckStatus.Fail, $"not checked: {whyNoBinding}");
            try
            {
                var res = await pool.RunAsync(endpoint, command, cancellationToken: cancellationToken).ConfigureAwait(false);
                var (ok, evidence) = judge(res);
                return Row(check, ok ? RemoteCheckStatus.Ok : RemoteCheckStatus.Fail, evidence);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return Row(check, RemoteCheckStatus.Fail, ex is RelocationException rex ? $"{rex.ErrorId}: {rex.Message}" : $"{ex.GetType().Name}: {ex.Message}");
            }
        }
        var reach = Ssh("ssh_reachability", r.RequireSshReachability, "echo ok",
            res => (res.Succeeded && res.Stdout.Trim() == "ok", res.Succeeded ? $"ssh {PreflightRunner.Address(endpoint!)} answered in {res.Duration.TotalMilliseconds:0} ms" : $"echo exited {res.ExitCode}"));
        var mesh = Ssh("tailscale_connected", r.RequireTailscaleConnected, "tailscale ip -4 2>&1",
            res =>
            {
                var ip = res.Stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
                var ok = res.Succeeded && MeshIp().IsMatch(ip);
                return (ok, ok ? $"tailscale ip -4: {ip}" : $"tailscale ip -4 exited {res.ExitCode}: {Short(res.Stdout + res.Stderr)}");
            });
        var cron = Ssh("cron_running", r.RequireCronRunning, BootstrapPlanner.CronRunningCommand,
            res => (res.Succeeded, res.Succeeded ? "cron (or crond) is running" : "neither cron nor crond is running"));
        await Task.WhenAll(reach, mesh, cron).ConfigureAwait(false);
        var vm = await vmTask.ConfigureAwait(false);

        var rows = new List<ReadinessCheck>();
        rows.Add(r.RequireRunning == false ? Row("vm_running", RemoteCheckStatus.Skip, Off)
            : vmSkip is not null ? Row("vm_running", RemoteCheckStatus.Skip, vmSkip)
            : vm is null ? Row("vm_running", RemoteCheckStatus.Fail, "no answer from the hypervisor")
            : Row("vm_running", vm.Running ? RemoteCheckStatus.Ok : RemoteCheckStatus.Fail, vm.Evidence));
        rows.Add(r.RequireSshTargetBinding == false ? Row("ssh_target_binding", RemoteCheckStatus.Skip, Off)
            : endpoint is null ? Row("ssh_target_binding", RemoteCheckStatus.Fail, whyNoBinding ?? "")
            : Row("ssh_target_binding", RemoteCheckStatus.Ok, $"ssh.targets {target.Hostname} → {PreflightRunner.Address(endpoint)}"));
        rows.Add(await reach.ConfigureAwait(false));
        rows.Add(await mesh.ConfigureAwait(false));
        rows.Add(r.RequireQemuAgentRunning == false ? Row("qemu_agent_running", RemoteCheckStatus.Skip, Off)
            : vmSkip is not null ? Row("qemu_agent_running", RemoteCheckStatus.Skip, vmSkip)
            : vm?.AgentRunning is null ? Row("qemu_agent_running", RemoteCheckStatus.Fail, vm is null ? "no answer from the hypervisor" : "agent state unknown: " + vm.Evidence)
            : Row("qemu_agent_running", vm.AgentRunning.Value ? RemoteCheckStatus.Ok : RemoteCheckStatus.Fail, vm.AgentRunning.Value ? "guest agent answers" : "guest agent does not answer"));
        rows.Add(await cron.ConfigureAwait(false));
        if (r.RequireBackupBinding == false) rows.Add(Row("backup_binding", RemoteCheckStatus.Skip, Off));
        else if (target.VmId is not { } id) rows.Add(Row("backup_binding", RemoteCheckStatus.Fail, "no VMID (manifest vm_id or -VmId)"));
        else if (BackupBinding(estate.BackupInventory, id) is { } bt)
            rows.Add(Row("backup_binding", RemoteCheckStatus.Ok, $"backup target {bt.Name} (glob {bt.Glob}) at {bt.Location}"));
        else rows.Add(Row("backup_binding", RemoteCheckStatus.Fail, $"no enabled backup inventory target names qemu-{id}- or vm-{id}-"));
        return rows;
    }

    private async Task<VmStatusObservation?> GetVmStatusAsync(string hypervisor, int vmId, CancellationToken ct)
    {
        try { return await vmStatus!.GetAsync(hypervisor, vmId, ct).ConfigureAwait(false); }
        catch (RelocationException ex) { return new VmStatusObservation(false, null, $"{ex.ErrorId}: {ex.Message}"); }
    }

    private static string Short(string s)
    {
        s = s.Replace('\n', ' ').Trim();
        return s.Length > 200 ? s[..200] + "…" : s;
    }

    // Tailscale's CGNAT range 100.64.0.0/10 (100.64.x.x - 100.127.x.x).
    [GeneratedRegex(@"^100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$")]
    private static partial Regex MeshIp();
}
