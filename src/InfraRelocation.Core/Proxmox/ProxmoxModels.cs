namespace InfraRelocation.Core.Proxmox;

public sealed record ProxmoxVersion(string Version, string Release, string? RepoId);

public sealed record ProxmoxNode(string Node, string Status, string? SslFingerprint, long? MaxCpu, long? MaxMem, long? Uptime);

/// <summary>One entry of GET /cluster/resources.</summary>
public sealed record ClusterResource(string Id, string Type, string? Node, int? VmId, string? Name, string? Status,
    bool Template, string? Lock, string? Storage);

/// <summary>One storage of storage.cfg (GET /storage); a shared one holds the same volumes on every node.</summary>
public sealed record StorageDefinition(string Id, string Type, IReadOnlyList<string> Content, bool Shared);

/// <summary>GET .../status/current.</summary>
public sealed record VmStatus(int VmId, string Status, string? QmpStatus, string? Name, string? Lock, bool Agent,
    bool Template, long? MaxMem, long? Uptime)
{
    public bool IsRunning => Status == "running";
}

/// <summary>A VM config as flat key → string value, plus the digest for optimistic concurrency.</summary>
public sealed record VmConfig(IReadOnlyDictionary<string, string> Values, string? Digest)
{
    public string? this[string key] => Values.TryGetValue(key, out var v) ? v : null;
    public string? Name => this["name"];
    public string? Lock => this["lock"];
    public bool IsTemplate => this["template"] == "1";

    /// <summary>The storage ids of the VM's drives (disks, cloud-init and ISO drives), as qemu-server's clone checks them.</summary>
    public IEnumerable<string> Volumes() => Values
        .Where(kv => System.Text.RegularExpressions.Regex.IsMatch(kv.Key, @"^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$") && kv.Value.Split(',')[0].Contains(':'))
        .Select(kv => kv.Value.Split(',')[0].Split(':')[0]).Distinct();

    /// <summary>The MAC address of a net[n] value (<c>virtio=AA:BB:..,bridge=vmbr0</c> or <c>macaddr=</c>).</summary>
    public string? MacAddressOf(string netKey)
    {
        var value = this[netKey];
        if (value is null) return null;
        foreach (var part in value.Split(','))
        {
            var kv = part.Split('=', 2);
            if (kv.Length == 2 && System.Text.RegularExpressions.Regex.IsMatch(kv[1], "^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"))
                return kv[1].ToUpperInvariant();
        }
        return null;
    }

    /// <summary>The <c>size=</c> of a disk value in bytes (e.g. 32G), or null.</summary>
    public long? DiskSizeBytes(string diskKey)
    {
        var value = this[diskKey];
        var size = value?.Split(',').Select(p => p.Split('=', 2)).FirstOrDefault(kv => kv.Length == 2 && kv[0] == "size")?[1];
        return size is null ? null : ProxmoxSizes.ParseBytes(size);
    }
}

public static class ProxmoxSizes
{
    /// <summary>Parses <c>32G</c>, <c>512M</c>, <c>1.5T</c>, <c>1024</c> (bytes).</summary>
    public static long? ParseBytes(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text.Trim(), @"^(\d+(?:\.\d+)?)([KMGT]?)$");
        if (!m.Success) return null;
        var n = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var mult = m.Groups[2].Value switch { "K" => 1L << 10, "M" => 1L << 20, "G" => 1L << 30, "T" => 1L << 40, _ => 1L };
        return (long)(n * mult);
    }
}

/// <summary>GET /nodes/{node}/tasks/{upid}/status.</summary>
public sealed record ProxmoxTaskStatus(string Upid, string Node, string Status, string? ExitStatus, string Type, string? Id, string? User)
{
    public bool IsRunning => Status == "running";

    /// <summary>OK or "WARNINGS: n": the only successful outcomes.</summary>
    public bool IsSuccess => !IsRunning && ExitStatus is not null &&
        (ExitStatus == "OK" || System.Text.RegularExpressions.Regex.IsMatch(ExitStatus, @"^WARNINGS: \d+$"));
}

public sealed record TaskLogLine(int N, string Text);

/// <summary>One page of a task log with the server's total line count.</summary>
public sealed record TaskLogPage(IReadOnlyList<TaskLogLine> Lines, int Total);

/// <summary>An entry of GET /nodes/{node}/tasks.</summary>
public sealed record TaskListEntry(string Upid, string Node, string Type, string? Id, string User, string? Status,
    DateTimeOffset StartTime, DateTimeOffset? EndTime)
{
    /// <summary>A running task has no end time; the list calls it "RUNNING" (pve-manager PVE/API2/Tasks.pm node_tasks).</summary>
    public bool IsRunning => EndTime is null && (Status is null || Status == "RUNNING");

    /// <summary>Ended with OK or "WARNINGS: n", the only successful outcomes.</summary>
    public bool IsSuccess => !IsRunning && Status is not null &&
        (Status == "OK" || System.Text.RegularExpressions.Regex.IsMatch(Status, @"^WARNINGS: \d+$"));
}

public sealed record GuestIpAddress(string Address, string Family, int Prefix);

public sealed record GuestInterface(string Name, string? HardwareAddress, IReadOnlyList<GuestIpAddress> Addresses);

/// <summary>POST .../clone parameters.</summary>
public sealed record CloneRequest(int NewId)
{
    public string? Name { get; init; }
    public bool? Full { get; init; }
    public string? Target { get; init; }
    public string? Storage { get; init; }
    public string? Format { get; init; }
    public string? Pool { get; init; }
    public string? Description { get; init; }
}

/// <summary>
/// Settings for PUT/POST .../config. Values are sent as given; booleans as 1/0;
/// <see cref="SshKeys"/> is percent-encoded (Uri.EscapeDataString) before form encoding.
/// </summary>
public sealed class VmConfigUpdate
{
    private readonly SortedDictionary<string, string> _values = new(StringComparer.Ordinal);

    public VmConfigUpdate Set(string key, string value) { _values[key] = value; return this; }
    public VmConfigUpdate Set(string key, long value) => Set(key, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    public VmConfigUpdate Set(string key, bool value) => Set(key, value ? "1" : "0");

    /// <summary>OpenSSH public keys, one per line, in clear text; encoded on send.</summary>
    public VmConfigUpdate SshKeys(string keys) => Set("sshkeys", Uri.EscapeDataString(keys.Replace("\r\n", "\n").TrimEnd('\n')));

    /// <summary>Config keys to remove.</summary>
    public VmConfigUpdate Delete(params string[] keys) => Set("delete", string.Join(',', keys));

    /// <summary>Optimistic concurrency: the digest read with the config.</summary>
    public VmConfigUpdate Digest(string digest) => Set("digest", digest);

    public IReadOnlyDictionary<string, string> Values => _values;
    public bool IsEmpty => _values.Count == 0;
}
