namespace InfraRelocation.Model;

/// <summary>The SSH address book, <c>ops/bindings/ssh.targets.yaml</c> (<c>ssh.defaults</c> + <c>ssh.targets[]</c>).</summary>
public sealed record SshTargetCatalog : ModelEntry
{
    public string File { get; init; } = "";
    public SshDefaults Defaults { get; init; } = new();
    public IReadOnlyList<SshTarget> Targets { get; init; } = [];
}

public sealed record SshDefaults : ModelEntry
{
    public string? User { get; init; }
    public int? Port { get; init; }
    public int? ConnectTimeoutSec { get; init; }
    /// <summary>known_hosts file used to pin host keys when a target has no <c>host_key</c>.</summary>
    public string? KnownHostsFile { get; init; }
    /// <summary>Private key file used when a target names none.</summary>
    public string? IdentityFile { get; init; }
}

public sealed record SshTarget : ModelEntry
{
    public int Index { get; init; }
    /// <summary>Host id: the join key with the placement policy and the manifest.</summary>
    public string Id { get; init; } = "";
    /// <summary>Address actually dialled; a target with no host counts as missing for SSH.</summary>
    public string? Host { get; init; }
    public string? User { get; init; }
    public int? Port { get; init; }
    public string? TailscaleIp { get; init; }
    public string? AccessPolicy { get; init; }
    /// <summary>Pinned host key fingerprint(s), OpenSSH <c>SHA256:...</c> form.</summary>
    public IReadOnlyList<string> HostKeys { get; init; } = [];
    public string? IdentityFile { get; init; }
    public string? Description { get; init; }
}
