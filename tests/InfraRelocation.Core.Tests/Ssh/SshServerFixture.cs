using System.Diagnostics;
using InfraRelocation.Core.Ssh;
using InfraRelocation.TestKit;

namespace InfraRelocation.Core.Tests.Ssh;

/// <summary>
/// Real OpenSSH servers on 127.0.0.1 for xUnit tests: the TestKit's <see cref="LoopbackSshServers"/> (the same
/// launcher the Pester tests use), plus endpoints for Core's SSH client. Tests call
/// <c>Skip.If(fixture.SkipReason is not null, fixture.SkipReason)</c>.
/// </summary>
public sealed class SshServerFixture : IDisposable
{
    private readonly LoopbackSshServers? _servers;
    private LoopbackSshServer? _default;

    public SshServerFixture()
    {
        try
        {
            _servers = new LoopbackSshServers();
        }
        catch (Exception ex) when (ex is TestServerUnavailableException or IOException or System.ComponentModel.Win32Exception)
        {
            SkipReason = $"SSH test fixture could not be prepared: {ex.Message}";
            return;
        }
        try
        {
            _ = Default; // prove sshd can start here; otherwise every SSH test skips with the reason
        }
        catch (Exception ex) when (ex is TestServerUnavailableException or IOException or System.ComponentModel.Win32Exception)
        {
            SkipReason = $"sshd could not be started ({(IsolatesIdentity ? "in a private namespace" : "as " + UserName)}): {ex.Message}";
        }
    }

    /// <summary>Why the SSH tests cannot run here, or null.</summary>
    public string? SkipReason { get; }
    /// <summary>True when instances run in their own UTS+mount namespace (hostname/machine-id tests need it).</summary>
    public bool IsolatesIdentity => _servers?.IsolatesIdentity ?? false;
    public string Root => Servers.Root;
    public string UserName => Environment.UserName;
    public string UserKeyPath => Servers.UserKeyPath;

    /// <summary>A shared instance for tests that do not break their server.</summary>
    public LoopbackSshServer Default => _default ??= Start("default", "hv-default", "00000000000000000000000000000d0f");

    private LoopbackSshServers Servers => _servers ?? throw new InvalidOperationException(SkipReason);

    /// <summary>Starts one sshd "host" (<see cref="LoopbackSshServers.Start"/>).</summary>
    public LoopbackSshServer Start(string name, string? hostname = null, string? machineId = null, string? fqdn = null,
        bool machineIdOnlyInDbusPath = false, bool rsaHostKey = false) =>
        Servers.Start(name, hostname, machineId, fqdn, machineIdOnlyInDbusPath, rsaHostKey);

    /// <summary>An endpoint for <paramref name="s"/> with its host key pinned and the fixture's user key.</summary>
    public SshEndpoint Endpoint(LoopbackSshServer s, string? id = null) =>
        new(id ?? s.Name, "127.0.0.1", UserName, s.Port)
        {
            PrivateKeyFiles = [UserKeyPath],
            PinnedHostKeys = [s.HostKeyFingerprint],
            ConnectTimeout = TimeSpan.FromSeconds(5),
            CommandTimeout = TimeSpan.FromSeconds(30),
        };

    public void Dispose() => _servers?.Dispose();

    internal static void Keygen(string path) =>
        Check(Run("/usr/bin/ssh-keygen", $"-q -t ed25519 -N \"\" -C ir-test -f {path}"), "ssh-keygen");

    internal static int Run(string file, string args, string? stdoutFile = null)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (stdoutFile is not null) File.WriteAllText(stdoutFile, output);
        return p.ExitCode;
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"{what} failed with exit code {rc}");
    }
}

[CollectionDefinition(Name)]
public sealed class SshServerCollection : ICollectionFixture<SshServerFixture>
{
    public const string Name = "sshd";
}
