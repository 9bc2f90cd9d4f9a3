using System.Net;
using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Tests.Proxmox;

public sealed class ProxmoxClientTests : IAsyncLifetime
{
    private readonly EmulatorHost _host = new();
    public Task InitializeAsync() => _host.InitializeAsync();
    public Task DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task PinnedFingerprintIsAcceptedAndMatchesNodeList()
    {
        using var client = _host.TokenClient();
        var version = await client.GetVersionAsync();
        Assert.Equal("9.1", version.Release);
        var nodes = await client.GetNodesAsync();
        var node = Assert.Single(nodes);
        Assert.Equal(EmulatorHost.Node, node.Node);
        Assert.Equal(_host.Emulator.CertificateFingerprint, node.SslFingerprint);
    }

    [Fact]
    public async Task PinIsCaseAndColonInsensitive()
    {
        var pin = _host.Emulator.CertificateFingerprint.Replace(":", "").ToLowerInvariant();
        using var client = new ProxmoxClient(new ProxmoxEndpoint(_host.Emulator.BaseUri, pin),
            new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret)));
        Assert.Equal("9.1", (await client.GetVersionAsync()).Release);
    }

    [Fact]
    public async Task WrongPinIsASecurityErrorNamingBothFingerprints()
    {
        var wrong = string.Join(':', Enumerable.Repeat("AB", 32));
        using var client = new ProxmoxClient(new ProxmoxEndpoint(_host.Emulator.BaseUri, wrong),
            new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret)));
        var e = await Assert.ThrowsAsync<RelocationException>(() => client.GetVersionAsync());
        Assert.Equal("ProxmoxCertificateMismatch", e.ErrorId);
        Assert.Equal(FailureKind.SecurityError, e.Kind);
        Assert.Contains(wrong, e.Message);
        Assert.Contains(_host.Emulator.CertificateFingerprint, e.Message);
        Assert.Empty(_host.State.RequestLog());
    }

    [Fact]
    public async Task AnyOfSeveralPinsIsEnough_SoARenewalCanBeRotated()
    {
        var old = string.Join(':', Enumerable.Repeat("AB", 32));
        var token = new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret));
        using (var client = new ProxmoxClient(new ProxmoxEndpoint(_host.Emulator.BaseUri, [old, _host.Emulator.CertificateFingerprint]), token))
        {
            Assert.Equal("9.1", (await client.GetVersionAsync()).Release);
        }

        var other = string.Join(':', Enumerable.Repeat("CD", 32));
        using var refused = new ProxmoxClient(new ProxmoxEndpoint(_host.Emulator.BaseUri, [old, other]), token);
        var e = await Assert.ThrowsAsync<RelocationException>(() => refused.GetVersionAsync());
        Assert.Equal("ProxmoxCertificateMismatch", e.ErrorId);
        Assert.Contains($"expected {old} or {other}", e.Message);
    }

    [Fact]
    public async Task NoPinRejectsSelfSignedCertificate()
    {
        using var client = new ProxmoxClient(new ProxmoxEndpoint(_host.Emulator.BaseUri),
            new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(_host.Emulator.TokenSecret)));
        var e = await Assert.ThrowsAsync<RelocationException>(() => client.GetVersionAsync());
        Assert.Equal("ProxmoxCertificateUntrusted", e.ErrorId);
        Assert.Equal(FailureKind.SecurityError, e.Kind);
        Assert.Contains(_host.Emulator.CertificateFingerprint, e.Message);
    }

    [Fact]
    public async Task WrongTokenSecretIsAuthenticationErrorWithoutTheSecret()
    {
        const string secret = "11111111-2222-3333-4444-555555555555";
        using var client = new ProxmoxClient(_host.Endpoint, new ProxmoxApiToken(_host.Emulator.TokenId, new ProxmoxSecret(secret)));
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.GetVersionAsync());
        Assert.Equal("ProxmoxAuthenticationFailed", e.ErrorId);
        Assert.Equal(FailureKind.AuthenticationError, e.Kind);
        Assert.Contains(_host.Emulator.TokenId, e.Message);
        Assert.Contains("Authentication failed!", e.Message);
        Assert.DoesNotContain(secret, e.ToString());
        Assert.Equal("********", new ProxmoxSecret(secret).ToString());
        Assert.DoesNotContain(secret, ProxmoxApiToken.Parse($"a@pam!t={secret}").ToString());
    }

    [Fact]
    public async Task TicketAuthSendsCsrfAndRenewsAfterAnHour()
    {
        var clock = new ManualClock();
        using var client = _host.PasswordClient(clock);
        await client.UpdateVmConfigAsync(EmulatorHost.Node, EmulatorHost.Template, new VmConfigUpdate().Set("description", "hello"));
        Assert.Equal("hello", (await client.GetVmConfigAsync(EmulatorHost.Node, EmulatorHost.Template))["description"]);
        clock.Now += TimeSpan.FromMinutes(61);
        await client.GetVersionAsync();
        var log = _host.State.RequestLog();
        var logins = log.Where(r => r.Path == "/access/ticket").ToList();
        Assert.Equal(2, logins.Count);
        Assert.All(logins, r => Assert.Equal("********", r.Parameters["password"]));
        Assert.All(log, r => Assert.Equal(200, r.Status));
    }

    [Fact]
    public async Task RefusedTicketLeadsToOneFreshLogin()
    {
        var clock = new ManualClock();
        using var client = _host.PasswordClient(clock);
        await client.GetVersionAsync();
        lock (_host.State.Sync) _host.State.Tickets.Clear(); // the server forgot the ticket (expired / restarted)
        await client.GetVersionAsync();
        lock (_host.State.Sync) _host.State.Tickets.Clear();
        clock.Now += TimeSpan.FromMinutes(90); // renewal with the old ticket is refused, the password works
        await client.GetVersionAsync();
        var logins = _host.State.RequestLog().Where(r => r.Path == "/access/ticket").Select(r => r.Status).ToList();
        Assert.Equal([200, 200, 401, 200], logins);
    }

    [Fact]
    public async Task WrongPasswordIsAuthenticationError()
    {
        using var client = new ProxmoxClient(_host.Endpoint, new ProxmoxPasswordCredentials("root@pam", new ProxmoxSecret("nope-secret")));
        var e = await Assert.ThrowsAsync<RelocationException>(() => client.GetVersionAsync());
        Assert.Equal("ProxmoxAuthenticationFailed", e.ErrorId);
        Assert.DoesNotContain("nope-secret", e.ToString());
    }

    [Fact]
    public async Task MissingVmIsObjectNotFound()
    {
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.GetVmConfigAsync(EmulatorHost.Node, 4242));
        Assert.Equal(FailureKind.ObjectNotFound, e.Kind);
        Assert.Equal(HttpStatusCode.InternalServerError, e.StatusCode);
        Assert.Equal("Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist", e.ApiMessage);
    }

    [Fact]
    public async Task MessageFallsBackToBodyWhenTheReasonPhraseIsGeneric()
    {
        _host.Emulator.Faults.FailPath("GET", "/version", 500, "Internal Server Error");
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.GetVersionAsync());
        Assert.Equal("Internal Server Error", e.ApiMessage);
    }

    [Fact]
    public async Task ParameterErrorsAreReported()
    {
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() =>
            client.CloneVmAsync(EmulatorHost.Node, EmulatorHost.Template, new CloneRequest(101) { Name = "bad_name" }));
        Assert.Equal(FailureKind.InvalidArgument, e.Kind);
        Assert.Contains("name", e.Errors.Keys);
        Assert.Contains("DNS name", e.Message);
    }

    [Fact]
    public async Task PermissionDeniedIs403()
    {
        _host.State.Deny("/vms/9000", "VM.Clone");
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.CloneVmAsync(EmulatorHost.Node, EmulatorHost.Template, new CloneRequest(101)));
        Assert.Equal(FailureKind.PermissionDenied, e.Kind);
        Assert.Contains("Permission check failed (/vms/9000, VM.Clone)", e.Message);
    }

    [Fact]
    public async Task NextIdIsReadFromAStringAndVmIdCheckWorks()
    {
        using var client = _host.TokenClient();
        Assert.Equal(100, await client.GetNextIdAsync());
        Assert.True(await client.IsVmIdFreeAsync(100));
        Assert.False(await client.IsVmIdFreeAsync(EmulatorHost.Template));
    }

    [Fact]
    public async Task ProvisioningFlowCloneConfigureResizeStartAgentDelete()
    {
        // Long enough that the lock is still visible on a loaded machine.
        _host.State.Options.TaskDurations["qmclone"] = TimeSpan.FromSeconds(3);
        using var client = _host.TokenClient();
        var waiter = EmulatorHost.Waiter(client);
        var template = (await client.GetClusterResourcesAsync("vm")).Single(r => r.Template);
        Assert.Equal(EmulatorHost.Node, template.Node);

        var upid = await client.CloneVmAsync(template.Node!, template.VmId!.Value, new CloneRequest(120) { Name = "web-01", Full = true });
        Assert.Equal("qmclone", upid.Type);
        Assert.Equal("9000", upid.Id);
        Assert.Equal("clone", (await client.GetClusterResourcesAsync("vm")).Single(r => r.VmId == 120).Lock);
        var locked = await Assert.ThrowsAsync<ProxmoxApiException>(() =>
            client.UpdateVmConfigAsync(EmulatorHost.Node, 120, new VmConfigUpdate().Set("cores", 4)));
        Assert.Equal(FailureKind.ResourceBusy, locked.Kind);
        Assert.True(locked.IsLockContention);

        var progress = new ListProgress<TaskProgress>();
        var outcome = await waiter.WaitAsync(upid, progress);
        Assert.Equal("OK", outcome.ExitStatus);

        var config = await client.GetVmConfigAsync(EmulatorHost.Node, 120);
        var templateConfig = await client.GetVmConfigAsync(EmulatorHost.Node, EmulatorHost.Template);
        Assert.Equal("web-01", config.Name);
        Assert.False(config.IsTemplate);
        Assert.Null(config.Lock);
        Assert.Equal("2048", config["memory"]);
        Assert.NotEqual(templateConfig.MacAddressOf("net0"), config.MacAddressOf("net0"));
        Assert.NotNull(config.Digest);

        const string keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBase64+/= ops@example.test\nssh-rsa AAAAB3NzaC1yc2E= second:key";
        var update = new VmConfigUpdate().Set("cores", 4).Set("memory", 4096).Set("onboot", true)
            .Set("ipconfig0", "ip=10.20.0.15/24,gw=10.20.0.1").Set("agent", "1").SshKeys(keys).Digest(config.Digest!);
        await ProxmoxRetry.WhileLockedAsync(ct => client.UpdateVmConfigAsync(EmulatorHost.Node, 120, update, ct));
        config = await client.GetVmConfigAsync(EmulatorHost.Node, 120);
        Assert.Equal("4", config["cores"]);
        Assert.Equal("1", config["onboot"]);
        Assert.Equal(Uri.EscapeDataString(keys), config["sshkeys"]);

        var stale = await Assert.ThrowsAsync<ProxmoxApiException>(() =>
            client.UpdateVmConfigAsync(EmulatorHost.Node, 120, new VmConfigUpdate().Set("cores", 8).Digest(update.Values["digest"])));
        Assert.Contains("detected modified configuration", stale.Message);

        var resize = await client.ResizeDiskAsync(EmulatorHost.Node, 120, "scsi0", "+24G");
        Assert.NotNull(resize);
        await waiter.WaitAsync(resize);
        Assert.Equal(32L << 30, (await client.GetVmConfigAsync(EmulatorHost.Node, 120)).DiskSizeBytes("scsi0"));
        // qemu-server 8.0+: the shrink refusal is the resize task's exit status
        var shrink = await Assert.ThrowsAsync<ProxmoxTaskFailedException>(async () => await waiter.WaitAsync((await client.ResizeDiskAsync(EmulatorHost.Node, 120, "scsi0", "16G"))!));
        Assert.Equal("shrinking disks is not supported", shrink.ExitStatus);

        await waiter.WaitAsync(await client.StartVmAsync(EmulatorHost.Node, 120));
        Assert.True((await client.GetVmStatusAsync(EmulatorHost.Node, 120)).IsRunning);
        var notReady = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.AgentPingAsync(EmulatorHost.Node, 120));
        Assert.Equal("QEMU guest agent is not running", notReady.ApiMessage);
        await client.AgentPingAsync(EmulatorHost.Node, 120);
        var interfaces = await client.GetGuestInterfacesAsync(EmulatorHost.Node, 120);
        Assert.Contains(interfaces, i => i.Name == "lo");
        Assert.Equal("10.20.0.15", GuestAddressPicker.Pick(interfaces, config.MacAddressOf("net0")));

        var running = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.DeleteVmAsync(EmulatorHost.Node, 120));
        Assert.Equal("VM 120 is running - destroy failed", running.ApiMessage);
        await waiter.WaitAsync(await client.StopVmAsync(EmulatorHost.Node, 120));
        await waiter.WaitAsync(await client.DeleteVmAsync(EmulatorHost.Node, 120, purge: true));
        await Assert.ThrowsAsync<ProxmoxApiException>(() => client.GetVmStatusAsync(EmulatorHost.Node, 120));

        var tasks = await client.GetNodeTasksAsync(EmulatorHost.Node, vmid: 120);
        Assert.Contains(tasks, t => t.Type == "qmdestroy" && t.Status == "OK");
        Assert.DoesNotContain(_host.State.RequestLog(), r => r.Parameters.Values.Any(v => v.Contains(_host.Emulator.TokenSecret)));
    }

    [Fact]
    public async Task AsyncConfigReturnsATaskOrNullWithBackgroundDelay()
    {
        using var client = _host.TokenClient();
        var upid = await client.UpdateVmConfigInTaskAsync(EmulatorHost.Node, EmulatorHost.Template, new VmConfigUpdate().Set("cores", 3));
        Assert.NotNull(upid);
        Assert.Equal("qmconfig", upid.Type);
        await EmulatorHost.Waiter(client).WaitAsync(upid);
        Assert.Null(await client.UpdateVmConfigInTaskAsync(EmulatorHost.Node, EmulatorHost.Template, new VmConfigUpdate().Set("cores", 4), backgroundDelaySeconds: 5));
        Assert.Equal("4", (await client.GetVmConfigAsync(EmulatorHost.Node, EmulatorHost.Template))["cores"]);
    }

    [Fact]
    public async Task ResizeOnOldServersReturnsNull()
    {
        _host.Emulator.Options.ResizeReturnsUpid = false;
        using var client = _host.TokenClient();
        Assert.Null(await client.ResizeDiskAsync(EmulatorHost.Node, EmulatorHost.Template, "scsi0", "+1G"));
    }

    [Fact]
    public async Task DroppedConnectionIsAConnectionError()
    {
        _host.Emulator.Faults.DropConnection("/version");
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<RelocationException>(() => client.GetVersionAsync());
        Assert.Equal(FailureKind.ConnectionError, e.Kind);
    }

    [Fact]
    public void AddressPickerSkipsLinkLocalAndPrefersTheNet0Mac()
    {
        var interfaces = new List<GuestInterface>
        {
            new("lo", "00:00:00:00:00:00", [new("127.0.0.1", "ipv4", 8)]),
            new("docker0", "02:42:00:00:00:01", [new("172.17.0.1", "ipv4", 16)]),
            new("eth1", "bc:24:11:00:00:02", [new("169.254.1.2", "ipv4", 16), new("10.9.0.2", "ipv4", 24)]),
            new("eth0", "bc:24:11:00:00:01", [new("fe80::1", "ipv6", 64), new("10.0.0.5", "ipv4", 24)]),
        };
        Assert.Equal("10.0.0.5", GuestAddressPicker.Pick(interfaces, "BC:24:11:00:00:01"));
        Assert.Equal("10.9.0.2", GuestAddressPicker.Pick(interfaces));
        Assert.Null(GuestAddressPicker.Pick(interfaces, family: "ipv6"));
    }

    [Fact]
    public async Task A_shrinking_resize_is_a_failed_task_since_pve_8()
    {
        using var client = _host.TokenClient();
        var upid = await client.ResizeDiskAsync(EmulatorHost.Node, EmulatorHost.Template, "scsi0", "1G");
        Assert.NotNull(upid);
        Assert.Equal("resize", upid!.Type);
        var e = await Assert.ThrowsAsync<ProxmoxTaskFailedException>(() => EmulatorHost.Waiter(client).WaitAsync(upid));
        Assert.Equal("shrinking disks is not supported", e.ExitStatus);
        Assert.Contains("size=8G", _host.State.Vms[EmulatorHost.Template].Config["scsi0"]);
    }

    [Fact]
    public async Task The_no_content_placeholder_of_an_empty_task_log_is_not_a_line()
    {
        _host.State.Options.TaskDurations["resize"] = TimeSpan.FromSeconds(5);
        using var client = _host.TokenClient();
        var upid = (await client.ResizeDiskAsync(EmulatorHost.Node, EmulatorHost.Template, "scsi0", "+1G"))!;
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"PVEAPIToken={_host.Emulator.TokenId}={_host.Emulator.TokenSecret}");
        var raw = await http.GetStringAsync(new Uri(_host.Emulator.BaseUri, $"api2/json/nodes/{EmulatorHost.Node}/tasks/{Uri.EscapeDataString(upid.Text)}/log"));
        Assert.Contains("\"t\":\"no content\"", raw);

        var page = await client.GetTaskLogAsync(upid);
        Assert.Empty(page.Lines);
        Assert.Equal(0, page.Total);
    }

    [Fact]
    public async Task An_ha_managed_vm_starts_through_an_hastart_task()
    {
        var vm = _host.State.AddVm(130, EmulatorHost.Node, new Dictionary<string, string> { ["name"] = "ha-vm" });
        vm.HaManaged = true;
        using var client = _host.TokenClient();
        Assert.True((await client.GetVmStatusAsync(EmulatorHost.Node, 130)).Status == "stopped");
        var upid = await client.StartVmAsync(EmulatorHost.Node, 130);
        Assert.Equal("hastart", upid.Type);
        await EmulatorHost.Waiter(client).WaitAsync(upid);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while (!(await client.GetVmStatusAsync(EmulatorHost.Node, 130)).IsRunning && DateTimeOffset.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal("running", _host.State.Vms[130].Status);
    }

    [Fact]
    public async Task Lists_drop_what_the_token_may_not_audit_and_config_reads_are_403()
    {
        _host.State.Deny("/vms/9000", "VM.Audit");
        using var client = _host.TokenClient();
        Assert.DoesNotContain(await client.GetClusterResourcesAsync("vm"), r => r.VmId == 9000);
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.GetVmConfigAsync(EmulatorHost.Node, 9000));
        Assert.Equal(FailureKind.PermissionDenied, e.Kind);
        Assert.Contains("/vms/9000, VM.Audit", e.Message);
    }
}
