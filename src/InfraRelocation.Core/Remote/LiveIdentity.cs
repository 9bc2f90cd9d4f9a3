using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Remote;

/// <summary>Live mode of the identity check: probes hypervisors over SSH and turns the answers into gate observations.</summary>
public static class LiveIdentity
{
    /// <summary>
    /// Probes every proxmox host of the policy (or only <paramref name="hostIds"/>), at most
    /// <paramref name="parallelism"/> at a time. A host with no ssh.targets entry, or that cannot be reached,
    /// yields an observation with <see cref="HypervisorObservation.Error"/> set: the gate reports it, never passes it.
    /// </summary>
    public static async Task<IReadOnlyList<HypervisorObservation>> ObserveAsync(SshSessionPool pool, EstateSnapshot estate,
        IReadOnlyCollection<string>? hostIds, SshResolveOptions sshOptions, int parallelism = BoundedParallel.DefaultParallelism,
        Action<FanOutProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var ids = (estate.Policy?.Hosts.Values ?? []).Where(h => h.IsProxmox && (hostIds is not { Count: > 0 } || hostIds.Contains(h.Id)))
            .Select(h => h.Id).ToList();
        var resolver = new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, sshOptions);
        var probe = new HypervisorProbe(pool);
        var done = 0;
        var results = await BoundedParallel.ForEachAsync(ids, async (id, ct) =>
        {
            try
            {
                var endpoint = resolver.TryResolve(id, out var why);
                if (endpoint is null) return new HypervisorObservation { HostId = id, Error = why };
                var seen = await probe.ReadIdentityAsync(endpoint, ct).ConfigureAwait(false);
                return new HypervisorObservation { HostId = id, Hostname = seen.Hostname, Fqdn = seen.Fqdn, MachineId = seen.MachineId };
            }
            catch (RelocationException ex)
            {
                return new HypervisorObservation { HostId = id, Error = $"{ex.ErrorId}: {ex.Message}" };
            }
            finally
            {
                progress?.Invoke(new FanOutProgress("Hypervisor identity", id, Interlocked.Increment(ref done), ids.Count));
            }
        }, parallelism, cancellationToken).ConfigureAwait(false);
        return results.Select(r => r.Value ?? new HypervisorObservation { HostId = r.Item, Error = r.Error?.Message ?? "probe failed" }).ToList();
    }
}
