using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Tests.Proxmox;

public sealed class ProxmoxTaskWaiterTests : IAsyncLifetime
{
    private readonly EmulatorHost _host = new();
    public Task InitializeAsync() => _host.InitializeAsync();
    public Task DisposeAsync() => _host.DisposeAsync();

    [Theory]
    [InlineData("drive-scsi0: transferred 2.0 GiB of 8.0 GiB (25.00%)", 25.0)]
    [InlineData("transferred 1.5 GiB of 32.0 GiB (12.34%)", 12.34)]
    [InlineData("transferred 0.0 B of 32.0 GiB (0.00%)", 0.0)]
    [InlineData("progress 99% (read 1 bytes)", 99.0)]
    [InlineData("create full clone of drive scsi0 (local-lvm:base-9000-disk-0)", null)]
    public void ParsesPercentages(string line, double? expected) => Assert.Equal(expected, ProxmoxTaskWaiter.ParsePercent(line));

    [Fact]
    public async Task ReportsProgressOfAFullClone()
    {
        _host.Emulator.Options.TaskDurations["qmclone"] = TimeSpan.FromMilliseconds(1200);
        using var client = _host.TokenClient();
        var upid = await client.CloneVmAsync(EmulatorHost.Node, EmulatorHost.Template, new CloneRequest(130) { Full = true });
        var progress = new ListProgress<TaskProgress>();
        var outcome = await EmulatorHost.Waiter(client).WaitAsync(upid, progress);
        Assert.Equal("OK", outcome.ExitStatus);
        var percents = progress.Items.Where(p => p.Status == "running" && p.Percent is not null).Select(p => p.Percent!.Value).ToList();
        Assert.NotEmpty(percents);
        Assert.True(percents.SequenceEqual(percents.Order()), "progress never goes back");
        Assert.Equal(100, progress.Items[^1].Percent);
        Assert.Equal("stopped", progress.Items[^1].Status);
    }

    [Fact]
    public async Task FailedTaskThrowsWithExitStatusAndLog()
    {
        const string error = "can't lock file '/var/lock/qemu-server/lock-131.conf' - got timeout";
        _host.Emulator.Faults.FailNextTask("qmclone", error);
        using var client = _host.TokenClient();
        var upid = await client.CloneVmAsync(EmulatorHost.Node, EmulatorHost.Template, new CloneRequest(131));
        var e = await Assert.ThrowsAsync<ProxmoxTaskFailedException>(() => EmulatorHost.Waiter(client).WaitAsync(upid));
        Assert.Equal("ProxmoxTaskFailed", e.ErrorId);
        Assert.Equal(error, e.ExitStatus);
        Assert.Contains(e.LogLines, l => l.StartsWith("create linked clone", StringComparison.Ordinal));
        Assert.Contains(error, e.Message);
        // A failed clone removes the half-made VM.
        Assert.True(await client.IsVmIdFreeAsync(131));
    }

    [Fact]
    public async Task WarningsCountAsSuccessAndAreReturned()
    {
        _host.Emulator.Faults.WarnNextTask("qmclone", "pending changes on the source were discarded");
        using var client = _host.TokenClient();
        var upid = await client.CloneVmAsync(EmulatorHost.Node, EmulatorHost.Template, new CloneRequest(132));
        var outcome = await EmulatorHost.Waiter(client).WaitAsync(upid);
        Assert.Equal("WARNINGS: 1", outcome.ExitStatus);
        Assert.Equal(["WARN: pending changes on the source were discarded"], outcome.Warnings);
    }

    [Fact]
    public async Task TaskLogIsPaged()
    {
        using var client = _host.TokenClient();
        var upid = await client.CloneVmAsync(EmulatorHost.Node, EmulatorHost.Template, new CloneRequest(133) { Full = true });
        await EmulatorHost.Waiter(client).WaitAsync(upid);
        var page = await client.GetTaskLogAsync(upid, start: 2, limit: 3);
        Assert.Equal(3, page.Lines.Count);
        Assert.Equal(3, page.Lines[0].N);
        var all = await client.GetFullTaskLogAsync(upid);
        Assert.Equal(page.Total, all.Count);
        Assert.Equal("TASK OK", all[^1].Text);
    }

    [Fact]
    public async Task StartOnARunningVmIsAFailedTask()
    {
        _host.State.AddVm(140, EmulatorHost.Node, new Dictionary<string, string> { ["name"] = "running" }, status: "running");
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxTaskFailedException>(async () =>
            await EmulatorHost.Waiter(client).WaitAsync(await client.StartVmAsync(EmulatorHost.Node, 140)));
        Assert.Equal("VM 140 already running", e.ExitStatus);
    }

    [Fact]
    public async Task ToleratesNotYetVisibleTasksAndTransientErrors()
    {
        _host.Emulator.Options.TaskInvisiblePolls = 2;
        _host.Emulator.Faults.FailPath("GET", "/status", 502, "Bad Gateway", times: 2);
        using var client = _host.TokenClient();
        var upid = await client.StopVmAsync(EmulatorHost.Node, EmulatorHost.Template);
        var outcome = await EmulatorHost.Waiter(client).WaitAsync(upid);
        Assert.Equal("OK", outcome.ExitStatus);
        Assert.Contains(_host.State.RequestLog(), r => r.Status == 400 && r.Path.EndsWith("/status", StringComparison.Ordinal));
        Assert.Contains(_host.State.RequestLog(), r => r.Status == 502);
    }

    [Fact]
    public async Task TimeoutLeavesTheTaskRunningAndNamesTheUpid()
    {
        _host.Emulator.Faults.HangNextTask("qmstart");
        using var client = _host.TokenClient();
        var upid = await client.StartVmAsync(EmulatorHost.Node, EmulatorHost.Template);
        var e = await Assert.ThrowsAsync<RelocationException>(() => EmulatorHost.Waiter(client, TimeSpan.FromMilliseconds(400)).WaitAsync(upid));
        Assert.Equal("ProxmoxTaskTimeout", e.ErrorId);
        Assert.Equal(FailureKind.OperationTimeout, e.Kind);
        Assert.Contains(upid.Text, e.Message);
        Assert.True((await client.GetTaskStatusAsync(upid)).IsRunning);
    }

    [Fact]
    public async Task CancellationAbortsAtOnce()
    {
        _host.Emulator.Faults.HangNextTask("qmstart");
        using var client = _host.TokenClient();
        var upid = await client.StartVmAsync(EmulatorHost.Node, EmulatorHost.Template);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        // The task hangs, so a waiter that ignored the token would end with its own stall or timeout error
        // (ProxmoxTaskTimeout), not with a cancellation.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => EmulatorHost.Waiter(client).WaitAsync(upid, null, cts.Token));
    }

    [Fact]
    public async Task LockRetryWaitsForAStuckLockToClear()
    {
        _host.State.SetLock(EmulatorHost.Template, "backup");
        using var client = _host.TokenClient();
        var attempts = 0;
        var clear = Task.Delay(300).ContinueWith(_ => _host.State.SetLock(EmulatorHost.Template, null), TaskScheduler.Default);
        await ProxmoxRetry.WhileLockedAsync(async ct =>
        {
            attempts++;
            await client.UpdateVmConfigAsync(EmulatorHost.Node, EmulatorHost.Template, new VmConfigUpdate().Set("description", "x"), ct);
        }, maxAttempts: 10, initialDelay: TimeSpan.FromMilliseconds(100));
        await clear;
        Assert.True(attempts > 1);
    }

    [Fact]
    public async Task LockRetryGivesUpAfterBoundedAttempts()
    {
        _host.State.SetLock(EmulatorHost.Template, "backup");
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() => ProxmoxRetry.WhileLockedAsync(ct =>
            client.UpdateVmConfigAsync(EmulatorHost.Node, EmulatorHost.Template, new VmConfigUpdate().Set("description", "x"), ct),
            maxAttempts: 3, initialDelay: TimeSpan.FromMilliseconds(20)));
        Assert.Equal("VM is locked (backup)", e.ApiMessage);
        Assert.Equal(3, _host.State.RequestLog().Count(r => r.Method == "PUT"));
    }
}
