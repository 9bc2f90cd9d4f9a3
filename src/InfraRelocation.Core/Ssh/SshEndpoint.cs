namespace InfraRelocation.Core.Ssh;

/// <summary>
/// Where and how to reach one SSH host: plain values, so callers map their own model onto it.
/// The host key is trusted only when it matches a pinned fingerprint or a known_hosts entry;
/// <see cref="TrustOnFirstUse"/> records an unknown key into <see cref="KnownHostsFile"/> instead
/// of refusing it (never overrides a pinned or recorded key that differs).
/// </summary>
public sealed record SshEndpoint
{
    public SshEndpoint(string id, string host, string user, int port = 22)
    {
        if (string.IsNullOrWhiteSpace(id))
            throw new RelocationException("SshEndpointInvalid", FailureKind.InvalidArgument, "An SSH endpoint needs an id.");
        if (string.IsNullOrWhiteSpace(host))
            throw new RelocationException("SshEndpointInvalid", FailureKind.InvalidArgument, $"SSH endpoint '{id}' has no host.", target: id);
        if (string.IsNullOrWhiteSpace(user))
            throw new RelocationException("SshEndpointInvalid", FailureKind.InvalidArgument, $"SSH endpoint '{id}' has no user.", target: id);
        if (port is < 1 or > 65535)
            throw new RelocationException("SshEndpointInvalid", FailureKind.InvalidArgument, $"SSH endpoint '{id}' has port {port}, outside 1-65535.", target: id);
        Id = id;
        Host = host;
        User = user;
        Port = port;
    }

    /// <summary>Host id (the ssh.targets join key). The session pool keys connections by it.</summary>
    public string Id { get; }
    public string Host { get; }
    public string User { get; }
    public int Port { get; }

    /// <summary>Unencrypted private key files (OpenSSH or PEM format), tried in order.</summary>
    public IReadOnlyList<string> PrivateKeyFiles { get; init; } = [];

    /// <summary>Accepted host keys as OpenSSH fingerprints, <c>SHA256:base64</c> (padding optional).</summary>
    public IReadOnlyList<string> PinnedHostKeys { get; init; } = [];

    /// <summary>An OpenSSH known_hosts file (plain or hashed host entries).</summary>
    public string? KnownHostsFile { get; init; }

    /// <summary>Accept a host with no pinned or recorded key, and record it into <see cref="KnownHostsFile"/>.</summary>
    public bool TrustOnFirstUse { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The host token known_hosts uses: <c>host</c> on port 22, else <c>[host]:port</c>.</summary>
    public string KnownHostsName => Port == 22 ? Host : $"[{Host}]:{Port}";

    public override string ToString() => $"{Id} ({User}@{Host}:{Port})";
}
