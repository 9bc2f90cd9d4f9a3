using InfraRelocation.Core.Remote;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Remote;

public sealed class SshEndpointResolverTests
{
    private static SshTargetCatalog Catalog(SshDefaults defaults, params SshTarget[] targets) => new() { Defaults = defaults, Targets = targets };

    [Fact]
    public void Resolve_FallsBackToTheDefaultsUserPortKeyAndKnownHosts()
    {
        var r = new SshEndpointResolver(Catalog(new SshDefaults { User = "ops", Port = 2222, IdentityFile = "keys/id", KnownHostsFile = "ops/known_hosts", ConnectTimeoutSec = 3 },
            new SshTarget { Id = "app", Host = "10.0.0.5" }), "/estate");
        var e = r.Resolve("app");
        Assert.Equal(("10.0.0.5", "ops", 2222), (e.Host, e.User, e.Port));
        Assert.Equal(["/estate/keys/id"], e.PrivateKeyFiles);
        Assert.Equal("/estate/ops/known_hosts", e.KnownHostsFile);
        Assert.Equal(TimeSpan.FromSeconds(3), e.ConnectTimeout);
    }

    [Fact]
    public void Resolve_PrefersTheTargetsOwnValues()
    {
        var r = new SshEndpointResolver(Catalog(new SshDefaults { User = "ops", Port = 2222, IdentityFile = "/d/key" },
            new SshTarget { Id = "hv", Host = "hv.lan", User = "root", Port = 22, IdentityFile = "~/hv_key", HostKeys = ["SHA256:abc"] }),
            "/estate", new SshResolveOptions { HomeDirectory = "/home/me", IdentityFile = "/opt/key" });
        var e = r.Resolve("hv");
        Assert.Equal(("root", 22), (e.User, e.Port));
        Assert.Equal(["/home/me/hv_key"], e.PrivateKeyFiles);
        Assert.Equal(["SHA256:abc"], e.PinnedHostKeys);
    }

    [Fact]
    public void Resolve_APinnedKeyIsAuthoritative_KnownHostsIsNotConsulted()
    {
        var r = new SshEndpointResolver(Catalog(new SshDefaults { KnownHostsFile = "/kh" }, new SshTarget { Id = "hv", Host = "h", HostKeys = ["SHA256:x"] }), "/e");
        Assert.Null(r.Resolve("hv").KnownHostsFile);
    }

    [Fact]
    public void Resolve_WithoutAnyUser_UsesRoot_AndTheOptionKey()
    {
        var r = new SshEndpointResolver(Catalog(new SshDefaults(), new SshTarget { Id = "a", Host = "h" }), "/e", new SshResolveOptions { IdentityFile = "/opt/key" });
        var e = r.Resolve("a");
        Assert.Equal("root", e.User);
        Assert.Equal(["/opt/key"], e.PrivateKeyFiles);
    }

    [Theory]
    [InlineData("missing", "no ssh.targets entry with id 'missing'")]
    [InlineData("nohost", "ssh.targets entry 'nohost' has no host")]
    public void TryResolve_ReportsWhyATargetCannotBeUsed(string id, string why)
    {
        var r = new SshEndpointResolver(Catalog(new SshDefaults(), new SshTarget { Id = "nohost", Host = null }), "/e");
        Assert.Null(r.TryResolve(id, out var reason));
        Assert.Equal(why, reason);
        var ex = Assert.Throws<RelocationException>(() => r.Resolve(id));
        Assert.Equal("SshTargetMissing", ex.ErrorId);
    }
}
