using System.Collections.Concurrent;
using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Remote;

/// <summary>
/// vm_running and qemu_agent_running from the Proxmox API of the VM's hypervisor (the estate config's
/// <c>proxmox.hosts</c> entry): <c>status/current</c>, then <c>agent/ping</c> when the VM runs. One client per hypervisor.
/// </summary>
public sealed class ProxmoxVmStatusSource(ProxmoxSettings settings, ProxmoxCredentials credentials, TimeSpan? requestTimeout = null)
    : IVmStatusSource, IDisposable
{
    private readonly ConcurrentDictionary<string, ProxmoxClient> _clients = new(StringComparer.Ordinal);

    /// <summary>True when the config has an API entry for this hypervisor.</summary>
    public bool Covers(string hypervisorId) => settings.Hosts.ContainsKey(hypervisorId);

    public async Task<VmStatusObservation> GetAsync(string hypervisorId, int vmId, CancellationToken cancellationToken)
    {
        var host = settings.GetHost(hypervisorId);
        var client = _clients.GetOrAdd(hypervisorId, id => settings.CreateClient(id, credentials, requestTimeout));
        var status = await client.GetVmStatusAsync(host.Node, vmId, cancellationToken).ConfigureAwait(false);
        var where = $"{host.Node} ({host.ApiUrl.Host}) VM {vmId}";
        if (!status.IsRunning) return new VmStatusObservation(false, null, $"{where} is {status.Status}");
        bool agent;
        try
        {
            await client.AgentPingAsync(host.Node, vmId, cancellationToken).ConfigureAwait(false);
            agent = true;
        }
        catch (ProxmoxApiException e) when (e.Kind == FailureKind.PermissionDenied)
        {
            // A 403 is not a failed ping: these credentials may not ask the agent. The agent's state stays unknown.
            return new VmStatusObservation(true, null, $"{where} is running; its agent cannot be asked with these credentials ({e.ApiMessage}): " +
                $"a missing privilege, not a failed ping; grant VM.GuestAgent.Audit on /vms/{vmId} (Proxmox VE 9) or VM.Monitor (Proxmox VE 8)");
        }
        catch (RelocationException)
        {
            agent = false;
        }
        return new VmStatusObservation(true, agent, $"{where} is running{(status.Uptime is { } up ? $", up {TimeSpan.FromSeconds(up):d\\.hh\\:mm\\:ss}" : "")}; agent ping {(agent ? "answered" : "failed")}");
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Dispose();
        _clients.Clear();
    }
}

/// <summary>A status source that cannot answer (e.g. no API token): the checks FAIL with this reason.</summary>
public sealed class UnavailableVmStatusSource(ProxmoxSettings settings, string reason) : IVmStatusSource
{
    public bool Covers(string hypervisorId) => settings.Hosts.ContainsKey(hypervisorId);

    public Task<VmStatusObservation> GetAsync(string hypervisorId, int vmId, CancellationToken cancellationToken) =>
        throw new RelocationException("ProxmoxUnavailable", FailureKind.ResourceUnavailable, reason, target: hypervisorId);
}
