using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Tests.Proxmox;

public sealed class ProxmoxClientExtensionsTests : IAsyncLifetime
{
    private readonly EmulatorHost _host = new();
    public Task InitializeAsync() => _host.InitializeAsync();
    public Task DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task WaitsThroughAgentBootForTheNet0Address()
    {
        var vm = _host.State.AddVm(180, EmulatorHost.Node, new Dictionary<string, string>
            { ["name"] = "app", ["agent"] = "1", ["net0"] = "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0" }, status: "running");
        vm.AgentBootPolls = 3;
        vm.LinkLocalOnlyPolls = 2;
        vm.GuestIp = "198.51.100.20";
        using var client = _host.TokenClient();
        var address = await client.WaitForGuestAddressAsync(EmulatorHost.Node, 180, "BC:24:11:AA:BB:CC", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Assert.Equal("198.51.100.20", address);
        var log = _host.State.RequestLog();
        Assert.Equal(3, log.Count(r => r.Status == 500 && r.Reason == "QEMU guest agent is not running"));
        Assert.Equal(3, log.Count(r => r.Status == 200)); // two link-local-only answers, then the address
    }

    [Fact]
    public async Task GuestAddressWaitTimesOutWithTheLastProblem()
    {
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<RelocationException>(() =>
            client.WaitForGuestAddressAsync(EmulatorHost.Node, EmulatorHost.Template, null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(20)));
        Assert.Equal("ProxmoxGuestAddressTimeout", e.ErrorId);
        Assert.Contains("VM 9000 is not running", e.Message);
    }

    [Fact]
    public async Task FindsVmsAndWaitsForUnlock()
    {
        using var client = _host.TokenClient();
        var template = await client.FindVmAsync(EmulatorHost.Template);
        Assert.NotNull(template);
        Assert.True(template.Template);
        Assert.Single(await client.FindVmsByNameAsync("tpl-debian12"));
        Assert.Null(await client.FindVmAsync(4711));

        _host.State.SetLock(EmulatorHost.Template, "clone");
        _ = Task.Delay(200).ContinueWith(_ => _host.State.SetLock(EmulatorHost.Template, null), TaskScheduler.Default);
        await client.WaitForUnlockAsync(EmulatorHost.Node, EmulatorHost.Template, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20));
        Assert.Null((await client.GetVmStatusAsync(EmulatorHost.Node, EmulatorHost.Template)).Lock);
    }
}
