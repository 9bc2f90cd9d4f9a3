using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Core.Tests.Ssh;

/// <summary>
/// Identity reads and hostname changes run for real, inside each fixture sshd's own UTS + mount namespace
/// (see <see cref="SshServerFixture"/>); every test also checks this machine's own identity did not move.
/// </summary>
[Collection(SshServerCollection.Name)]
public sealed class HypervisorProbeTests(SshServerFixture fx)
{
    private static readonly string RealHostname = File.ReadAllText("/etc/hostname");
    private static readonly string RealMachineId = File.ReadAllText("/etc/machine-id");

    private void SkipUnlessIsolated()
    {
        Skip.If(fx.SkipReason is not null, fx.SkipReason);
        Skip.IfNot(fx.IsolatesIdentity, "Hypervisor identity tests need root and unshare (private UTS/mount namespace per sshd).");
    }

    private static void AssertThisMachineUntouched()
    {
        Assert.Equal(RealHostname, File.ReadAllText("/etc/hostname"));
        Assert.Equal(RealMachineId, File.ReadAllText("/etc/machine-id"));
        Assert.Equal(RealHostname.Trim(), Environment.MachineName);
    }

    [SkippableFact]
    public async Task ReadIdentity_ReportsTheNamespacedHostnameFqdnAndMachineId()
    {
        SkipUnlessIsolated();
        using var hv = fx.Start("hv-east", "hv-east", "AAAABBBBCCCCDDDDEEEEFFFF00001111", fqdn: "hv-east.lab.example");
        using var pool = new SshSessionPool();
        var id = await new HypervisorProbe(pool).ReadIdentityAsync(fx.Endpoint(hv));
        Assert.Equal(new HypervisorIdentity("hv-east", "hv-east", "hv-east", "hv-east.lab.example", "aaaabbbbccccddddeeeeffff00001111"), id);
        Assert.Equal(1, pool.ConnectionsOpened);
        AssertThisMachineUntouched();
    }

    [SkippableFact]
    public async Task ReadIdentity_FallsBackToTheDbusMachineId()
    {
        SkipUnlessIsolated();
        Skip.IfNot(File.Exists("/var/lib/dbus/machine-id"), "/var/lib/dbus/machine-id does not exist on this machine.");
        using var hv = fx.Start("hv-dbus", "hv-dbus", "1234567890abcdef1234567890abcdef", machineIdOnlyInDbusPath: true);
        using var pool = new SshSessionPool();
        var id = await new HypervisorProbe(pool).ReadIdentityAsync(fx.Endpoint(hv));
        Assert.Equal("1234567890abcdef1234567890abcdef", id.MachineId);
        Assert.Equal("hv-dbus", id.Fqdn); // not resolvable to anything longer: falls back to the short name
    }

    [SkippableFact]
    public async Task SetHostname_ChangesItInsideTheNamespaceOnly_AfterCheckingTheMachineId()
    {
        SkipUnlessIsolated();
        const string machineId = "0badc0de0badc0de0badc0de0badc0de";
        using var hv = fx.Start("hv-west", "pve", machineId);
        using var pool = new SshSessionPool();
        var probe = new HypervisorProbe(pool);
        var ep = fx.Endpoint(hv);

        var change = await probe.SetHostnameAsync(ep, "hv-west", machineId.ToUpperInvariant());
        Assert.True(change.Changed);
        Assert.Equal("pve", change.Before.Hostname);
        Assert.Equal("hv-west", change.After.Hostname);
        Assert.Contains(change.Method, new[] { "hostnamectl", "fallback" });
        Assert.Equal("hv-west\n", File.ReadAllText(hv.HostnameFile)); // the fixture file bound over /etc/hostname
        AssertThisMachineUntouched();

        var again = await probe.SetHostnameAsync(ep, "hv-west", machineId);
        Assert.False(again.Changed);
        Assert.Equal("none", again.Method);
    }

    [SkippableFact]
    public async Task SetHostname_WrongMachineId_IsRefusedAndChangesNothing()
    {
        SkipUnlessIsolated();
        using var hv = fx.Start("hv-other", "pve", "11111111111111111111111111111111");
        using var pool = new SshSessionPool();
        var ex = await Assert.ThrowsAsync<RelocationException>(() =>
            new HypervisorProbe(pool).SetHostnameAsync(fx.Endpoint(hv), "hv-home", "22222222222222222222222222222222"));
        Assert.Equal("HypervisorMachineIdMismatch", ex.ErrorId);
        Assert.Equal(FailureKind.SecurityError, ex.Kind);
        Assert.Contains("11111111111111111111111111111111", ex.Message);
        Assert.Contains("22222222222222222222222222222222", ex.Message);
        Assert.Equal("pve\n", File.ReadAllText(hv.HostnameFile));
        Assert.Equal("pve", (await new HypervisorProbe(pool).ReadIdentityAsync(fx.Endpoint(hv))).Hostname);
    }

    [Fact]
    public async Task SetHostname_InvalidName_FailsBeforeAnyConnection()
    {
        var nowhere = new SshEndpoint("nowhere", "127.0.0.1", "root", 1) { PrivateKeyFiles = ["/nonexistent"], PinnedHostKeys = ["SHA256:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"] };
        using var pool = new SshSessionPool();
        var ex = await Assert.ThrowsAsync<RelocationException>(() => new HypervisorProbe(pool).SetHostnameAsync(nowhere, "pve;reboot", null));
        Assert.Equal("HostnameInvalid", ex.ErrorId);
        Assert.Equal(0, pool.ConnectionsOpened);
    }

    [Theory]
    [InlineData("pve")]
    [InlineData("hv-east")]
    [InlineData("hv-east.lab.example")]
    [InlineData("A1")]
    public void ValidateHostname_AcceptsRfc1123Names(string name) => HypervisorProbe.ValidateHostname(name);

    [Theory]
    [InlineData("")]
    [InlineData("-pve")]
    [InlineData("pve-")]
    [InlineData("pve..lab")]
    [InlineData(".pve")]
    [InlineData("pve.")]
    [InlineData("pve_1")]
    [InlineData("pve 1")]
    [InlineData("pve$(reboot)")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // 64
    public void ValidateHostname_RejectsOthers(string name)
    {
        var ex = Assert.Throws<RelocationException>(() => HypervisorProbe.ValidateHostname(name));
        Assert.Equal("HostnameInvalid", ex.ErrorId);
        Assert.Equal(FailureKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void ParseIdentity_ReadsTaggedLinesAmidNoise_AndMapsUnknownMachineIdToNull()
    {
        var id = HypervisorProbe.ParseIdentity("h", "motd noise\nIR_HOSTNAME=pve\nIR_NODENAME=pve\nIR_FQDN=pve.lan\nIR_MACHINE_ID=unknown\n");
        Assert.Equal(new HypervisorIdentity("h", "pve", "pve", "pve.lan", null), id);
        var ex = Assert.Throws<RelocationException>(() => HypervisorProbe.ParseIdentity("h", "IR_HOSTNAME=pve\n"));
        Assert.Equal("HypervisorProbeInvalid", ex.ErrorId);
    }
}
