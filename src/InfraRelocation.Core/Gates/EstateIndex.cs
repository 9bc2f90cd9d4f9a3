using System.Runtime.CompilerServices;
using InfraRelocation.Core.Estate;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Gates;

/// <summary>
/// Dictionaries over an estate's files, built once per estate (O(n)) and shared by every gate, so each
/// cross-file join is a lookup rather than a scan.
/// </summary>
internal sealed class EstateIndex
{
    private static readonly ConditionalWeakTable<EstateSnapshot, EstateIndex> s_cache = new();

    public static EstateIndex For(EstateSnapshot estate) => s_cache.GetValue(estate, e => new EstateIndex(e));

    private EstateIndex(EstateSnapshot estate)
    {
        Estate = estate;
        if (estate.SshTargets is { } ssh)
        {
            foreach (var t in ssh.Targets)
            {
                SshById.TryAdd(t.Id, t);
            }
        }
        if (estate.StackRegistry is { } stacks)
        {
            foreach (var s in stacks.Stacks)
            {
                StacksById.TryAdd(s.StackId, s);
            }
        }
        if (estate.DeviceIdentity is { } devices)
        {
            foreach (var d in devices.Devices)
            {
                DevicesByHost.TryAdd(d.Hostname, d);
            }
        }
        if (estate.HealthBindings is { } health)
        {
            foreach (var h in health.Endpoints)
            {
                HealthById.TryAdd(h.Id, h);
            }
        }
        if (estate.BackupInventory is { } backups)
        {
            foreach (var b in backups.Targets)
            {
                if (b.Host is not null && b.BasePath is not null)
                {
                    BackupsByHostPath.TryAdd(b.Host + ":" + TrimSlash(b.BasePath), b);
                }
            }
        }
        if (estate.Manifest is { } manifest)
        {
            foreach (var vm in manifest.VmTargets)
            {
                VmsByHostname.TryAdd(vm.Hostname, vm);
            }
        }
        if (estate.NamingPolicy is { } naming)
        {
            foreach (var n in naming.AllowedExceptions)
            {
                if (string.Equals(n.Surface, "system_hostname", StringComparison.Ordinal) && n.Actual is not null)
                {
                    HostnameExceptions.TryAdd(n.Host, n);
                }
            }
        }
    }

    public EstateSnapshot Estate { get; }
    public Dictionary<string, SshTarget> SshById { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, StackEntry> StacksById { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, DeviceRecord> DevicesByHost { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, HealthEndpoint> HealthById { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, BackupTarget> BackupsByHostPath { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, VmTarget> VmsByHostname { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, NamingException> HostnameExceptions { get; } = new(StringComparer.Ordinal);

    /// <summary>Finds the inventoried backup target that holds <c>host:/path</c> (exact base path or a folder below it).</summary>
    public BackupTarget? FindBackup(string backupTarget)
    {
        var colon = backupTarget.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return null;
        }
        var host = backupTarget[..colon];
        var path = TrimSlash(backupTarget[(colon + 1)..]);
        while (path.Length > 0)
        {
            if (BackupsByHostPath.TryGetValue(host + ":" + path, out var target))
            {
                return target;
            }
            var slash = path.LastIndexOf('/');
            if (slash <= 0)
            {
                break;
            }
            path = path[..slash];
        }
        return null;
    }

    /// <summary>The VMID a host runs as, from the manifest's VM targets or the service registry's hosts.</summary>
    public int? VmIdOf(string host)
    {
        if (VmsByHostname.TryGetValue(host, out var vm) && vm.VmId is { } id)
        {
            return id;
        }
        return Estate.ServiceRegistry?.Hosts.TryGetValue(host, out var registered) == true ? registered.VmId : null;
    }

    private static string TrimSlash(string path) => path.Length > 1 ? path.TrimEnd('/') : path;
}
