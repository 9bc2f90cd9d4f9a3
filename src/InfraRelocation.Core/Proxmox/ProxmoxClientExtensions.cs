using System.Net;

namespace InfraRelocation.Core.Proxmox;

/// <summary>Provisioning helpers built on the typed calls: locate a VM, wait for its lock and its guest address.</summary>
public static class ProxmoxClientExtensions
{
    /// <summary>
    /// The cluster-wide entry of a VM/template by id, or null. Its node comes from the list (current), but name,
    /// template flag and lock are read from the VM's config: the list's name, status and template flag lag up to
    /// about 10 s behind (pvestatd; pve-manager PVE/API2/Cluster.pm 'resources'), so a just-made clone shows as ''.
    /// </summary>
    public static async Task<ClusterResource?> FindVmAsync(this ProxmoxClient client, int vmid, CancellationToken ct = default)
    {
        var entry = (await client.GetClusterResourcesAsync("vm", ct).ConfigureAwait(false)).FirstOrDefault(r => r.VmId == vmid);
        if (entry?.Node is not { } node) return entry;
        try
        {
            var config = await client.GetVmConfigAsync(node, vmid, ct).ConfigureAwait(false);
            return entry with { Name = config.Name, Template = config.IsTemplate, Lock = config.Lock };
        }
        catch (ProxmoxApiException e) when (e.Kind == FailureKind.ObjectNotFound)
        {
            return null; // destroyed (or moved) since the list was read
        }
    }

    /// <summary>Every VM/template whose name is <paramref name="name"/> (names are not unique in PVE).</summary>
    public static async Task<IReadOnlyList<ClusterResource>> FindVmsByNameAsync(this ProxmoxClient client, string name, CancellationToken ct = default) =>
        (await client.GetClusterResourcesAsync("vm", ct).ConfigureAwait(false)).Where(r => r.Name == name).ToList();

    /// <summary>Polls status/current until the VM has no <c>lock</c> (e.g. after a clone or on resume).</summary>
    public static async Task WaitForUnlockAsync(this ProxmoxClient client, string node, int vmid, TimeSpan timeout,
        TimeSpan? pollInterval = null, CancellationToken ct = default)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var status = await client.GetVmStatusAsync(node, vmid, ct).ConfigureAwait(false);
            if (status.Lock is null) return;
            if (DateTimeOffset.UtcNow >= deadline)
            {
                throw new RelocationException("ProxmoxVmLockTimeout", FailureKind.ResourceBusy,
                    $"VM {vmid} on {node} is still locked ({status.Lock}) after {timeout.TotalSeconds:0} s.", target: vmid);
            }
            await Task.Delay(pollInterval ?? TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until the guest agent reports a usable address (see <see cref="GuestAddressPicker"/>). Agent errors
    /// (500 "not running", "not configured" while booting, timeouts) and missing addresses mean "not yet";
    /// 401/403 and a missing VM are fatal. Returns the address.
    /// </summary>
    public static async Task<string> WaitForGuestAddressAsync(this ProxmoxClient client, string node, int vmid, string? preferredMac,
        TimeSpan timeout, TimeSpan? pollInterval = null, string family = "ipv4", CancellationToken ct = default)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        string? lastProblem = null;
        while (true)
        {
            try
            {
                var interfaces = await client.GetGuestInterfacesAsync(node, vmid, ct).ConfigureAwait(false);
                if (GuestAddressPicker.Pick(interfaces, preferredMac, family) is { } address) return address;
                lastProblem = "the agent reports no usable address yet";
            }
            catch (ProxmoxApiException e) when (e.StatusCode == HttpStatusCode.InternalServerError && e.Kind != FailureKind.ObjectNotFound
                                                || e.StatusCode == HttpStatusCode.BadRequest)
            {
                lastProblem = e.ApiMessage;
            }
            catch (RelocationException e) when (e is not ProxmoxApiException && e.Kind is FailureKind.ConnectionError or FailureKind.OperationTimeout)
            {
                lastProblem = e.Message;
            }
            if (DateTimeOffset.UtcNow >= deadline)
            {
                throw new RelocationException("ProxmoxGuestAddressTimeout", FailureKind.OperationTimeout,
                    $"VM {vmid} on {node} reported no {family} address within {timeout.TotalSeconds:0} s (last: {lastProblem}).", target: vmid);
            }
            await Task.Delay(pollInterval ?? TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        }
    }
}
