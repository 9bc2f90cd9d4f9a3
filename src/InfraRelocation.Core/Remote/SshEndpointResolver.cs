using InfraRelocation.Core.Ssh;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Remote;

/// <summary>Settings that apply to every endpoint a resolver builds (a cmdlet's parameters).</summary>
public sealed record SshResolveOptions
{
    /// <summary>Private key used when neither the target nor <c>ssh.defaults</c> names one (<c>-IdentityFile</c>).</summary>
    public string? IdentityFile { get; init; }
    /// <summary>Overrides <c>ssh.defaults.connect_timeout_sec</c>.</summary>
    public TimeSpan? ConnectTimeout { get; init; }
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>The user's home folder for <c>~/</c> paths (tests override it).</summary>
    public string? HomeDirectory { get; init; }
}

/// <summary>
/// Maps <c>ssh.targets</c> entries onto <see cref="SshEndpoint"/>s: host, port (target, else defaults, else 22),
/// user (target, else <c>ssh.defaults.user</c> — the reference never read it — else root), private key (target,
/// else defaults, else the option, else <c>~/.ssh/id_ed25519</c>/<c>id_ecdsa</c>/<c>id_rsa</c>), pinned host keys
/// (<c>host_key(s)</c>, authoritative when present) or else the defaults' known_hosts file (relative to the estate root). A target with no host
/// counts as missing.
/// </summary>
public sealed class SshEndpointResolver
{
    private readonly Dictionary<string, SshTarget> _targets = new(StringComparer.Ordinal);
    private readonly SshDefaults _defaults;
    private readonly string _root;
    private readonly SshResolveOptions _options;

    public SshEndpointResolver(SshTargetCatalog? catalog, string estateRoot, SshResolveOptions? options = null)
    {
        _defaults = catalog?.Defaults ?? new SshDefaults();
        foreach (var t in catalog?.Targets ?? [])
        {
            _targets.TryAdd(t.Id, t);
        }
        _root = estateRoot;
        _options = options ?? new SshResolveOptions();
    }

    /// <summary>The ssh.targets entry for a host id, or null.</summary>
    public SshTarget? Target(string hostId) => _targets.GetValueOrDefault(hostId);

    /// <summary>Builds the endpoint, or returns null with the reason (no entry, no host).</summary>
    public SshEndpoint? TryResolve(string hostId, out string? whyNot)
    {
        if (!_targets.TryGetValue(hostId, out var t))
        {
            whyNot = $"no ssh.targets entry with id '{hostId}'";
            return null;
        }
        if (string.IsNullOrWhiteSpace(t.Host))
        {
            whyNot = $"ssh.targets entry '{hostId}' has no host";
            return null;
        }
        var port = t.Port ?? _defaults.Port ?? 22;
        if (port is < 1 or > 65535)
        {
            whyNot = $"ssh.targets entry '{hostId}' has port {port}, outside 1-65535";
            return null;
        }
        var user = Blank(t.User) ?? Blank(_defaults.User) ?? "root";
        var key = Blank(t.IdentityFile) ?? Blank(_defaults.IdentityFile);
        var keys = key is not null ? [ExpandPath(key)] : Blank(_options.IdentityFile) is { } opt ? [ExpandPath(opt)] : DefaultKeys();
        var connect = _options.ConnectTimeout ?? (_defaults.ConnectTimeoutSec is > 0 and var s ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(10));
        whyNot = null;
        return new SshEndpoint(hostId, t.Host.Trim(), user, port)
        {
            PrivateKeyFiles = keys,
            PinnedHostKeys = t.HostKeys,
            // A pinned key is authoritative: known_hosts is consulted only for targets that pin nothing, so a stale
            // or planted known_hosts line cannot override a pin that no longer matches.
            KnownHostsFile = t.HostKeys.Count == 0 && Blank(_defaults.KnownHostsFile) is { } kh ? ExpandPath(kh) : null,
            ConnectTimeout = connect,
            CommandTimeout = _options.CommandTimeout,
        };
    }

    /// <summary>Builds the endpoint or throws <c>SshTargetMissing</c> (ObjectNotFound).</summary>
    public SshEndpoint Resolve(string hostId) =>
        TryResolve(hostId, out var why) ?? throw new RelocationException("SshTargetMissing", FailureKind.ObjectNotFound,
            $"Cannot reach '{hostId}' over SSH: {why}.", target: hostId);

    private string Home => _options.HomeDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary><c>~/x</c> → home, relative → estate root, absolute unchanged.</summary>
    public string ExpandPath(string path)
    {
        if (path == "~") return Home;
        if (path.StartsWith("~/", StringComparison.Ordinal)) return Path.Combine(Home, path[2..]);
        return Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(_root, path));
    }

    private IReadOnlyList<string> DefaultKeys()
    {
        var found = new[] { "id_ed25519", "id_ecdsa", "id_rsa" }.Select(n => Path.Combine(Home, ".ssh", n)).Where(File.Exists).ToList();
        return found;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
