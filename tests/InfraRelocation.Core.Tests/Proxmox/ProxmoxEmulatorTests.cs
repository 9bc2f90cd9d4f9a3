using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Tests.Proxmox;

/// <summary>Emulator behaviour not already covered through the client.</summary>
public sealed class ProxmoxEmulatorTests : IAsyncLifetime
{
    private readonly EmulatorHost _host = new();
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        await _host.InitializeAsync();
        var fingerprint = _host.Emulator.CertificateFingerprint;
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && ProxmoxEndpoint.FingerprintOf(cert) == fingerprint,
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri(_host.Emulator.BaseUri, "api2/json/") };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private HttpRequestMessage Req(HttpMethod method, string path, string? auth = "=", HttpContent? content = null)
    {
        var r = new HttpRequestMessage(method, path) { Content = content };
        if (auth is not null) r.Headers.TryAddWithoutValidation("Authorization", $"PVEAPIToken{auth}{_host.Emulator.TokenId}={_host.Emulator.TokenSecret}");
        return r;
    }

    private static async Task<JsonElement> Body(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task TokenHeaderAcceptsTheSpaceForm()
    {
        using var r = await _http.SendAsync(Req(HttpMethod.Get, "version", " "));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task NoCredentialsIs401NoTicket()
    {
        using var r = await _http.SendAsync(Req(HttpMethod.Get, "version", auth: null));
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("No ticket", r.ReasonPhrase);
    }

    [Fact]
    public async Task UnknownPathAndBodyOnGetAre501()
    {
        using var unknown = await _http.SendAsync(Req(HttpMethod.Get, "nodes/pve1/frobnicate"));
        Assert.Equal(HttpStatusCode.NotImplemented, unknown.StatusCode);
        Assert.Equal("Method 'GET /nodes/pve1/frobnicate' not implemented", unknown.ReasonPhrase);
        Assert.Equal(JsonValueKind.Null, (await Body(unknown)).GetProperty("data").ValueKind);

        using var body = await _http.SendAsync(Req(HttpMethod.Delete, "nodes/pve1/qemu/9000", content: new StringContent("purge=1")));
        Assert.Equal(HttpStatusCode.NotImplemented, body.StatusCode);
    }

    [Fact]
    public async Task TicketWithoutCsrfIsRejectedOnWrites()
    {
        using var login = await _http.PostAsync("access/ticket", new FormUrlEncodedContent(
            [new("username", _host.Emulator.User), new("password", _host.Emulator.Password)]));
        var data = (await Body(login)).GetProperty("data");
        var ticket = data.GetProperty("ticket").GetString()!;
        Assert.Matches("^PVE:root@pam:[0-9A-F]{8}::", ticket);

        var put = new HttpRequestMessage(HttpMethod.Put, "nodes/pve1/qemu/9000/config") { Content = new FormUrlEncodedContent([new("cores", "3")]) };
        put.Headers.Add("Cookie", "PVEAuthCookie=" + Uri.EscapeDataString(ticket));
        using var r = await _http.SendAsync(put);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("Permission denied - invalid csrf token", r.ReasonPhrase);

        // A token may not ask for a ticket (allowtoken=0).
        using var viaToken = await _http.SendAsync(Req(HttpMethod.Post, "access/ticket", content: new FormUrlEncodedContent(
            [new("username", "root@pam"), new("password", "x")])));
        Assert.Equal(HttpStatusCode.Forbidden, viaToken.StatusCode);
    }

    [Fact]
    public async Task JsonBodiesAndFormBooleansFollowTheSchema()
    {
        using var json = await _http.SendAsync(Req(HttpMethod.Put, "nodes/pve1/qemu/9000/config",
            content: new StringContent("{\"onboot\":true,\"cores\":3}", new MediaTypeHeaderValue("application/json"))));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);

        using var form = await _http.SendAsync(Req(HttpMethod.Put, "nodes/pve1/qemu/9000/config",
            content: new FormUrlEncodedContent([new("onboot", "true"), new("cores", "0"), new("bogus", "1")])));
        Assert.Equal(HttpStatusCode.BadRequest, form.StatusCode);
        Assert.Equal("Parameter verification failed.", form.ReasonPhrase);
        var errors = (await Body(form)).GetProperty("errors");
        Assert.Equal("type check ('boolean') failed - got 'true'", errors.GetProperty("onboot").GetString());
        Assert.Equal("value must have a minimum value of 1", errors.GetProperty("cores").GetString());
        Assert.Contains("not defined in schema", errors.GetProperty("bogus").GetString());
    }

    [Fact]
    public async Task SshKeysMustBePercentEncodedValidKeys()
    {
        using var plus = await _http.SendAsync(Req(HttpMethod.Put, "nodes/pve1/qemu/9000/config",
            content: new FormUrlEncodedContent([new("sshkeys", "ssh-ed25519+AAAA+me")])));
        Assert.Equal(HttpStatusCode.BadRequest, plus.StatusCode);
        using var junk = await _http.SendAsync(Req(HttpMethod.Put, "nodes/pve1/qemu/9000/config",
            content: new FormUrlEncodedContent([new("sshkeys", Uri.EscapeDataString("not a key"))])));
        Assert.Equal(HttpStatusCode.InternalServerError, junk.StatusCode);
        Assert.Equal("SSH public key validation error", junk.ReasonPhrase);
    }

    [Fact]
    public async Task MessageFieldCanBeSwitchedOffForOldServers()
    {
        _host.Emulator.Options.IncludeMessageField = false;
        using var r = await _http.SendAsync(Req(HttpMethod.Get, "nodes/pve1/qemu/555/config"));
        Assert.Equal("Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist", r.ReasonPhrase);
        Assert.False((await Body(r)).TryGetProperty("message", out _));
    }

    [Fact]
    public async Task AgentErrorsFollowTheVmState()
    {
        _host.State.AddVm(150, "pve1", new Dictionary<string, string> { ["name"] = "noagent" }, status: "running");
        using var client = _host.TokenClient();
        var none = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.AgentPingAsync("pve1", 150));
        Assert.Equal("No QEMU guest agent configured", none.ApiMessage);
        var stopped = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.AgentPingAsync("pve1", 9000));
        Assert.Equal("VM 9000 is not running", stopped.ApiMessage);
    }

    [Fact]
    public async Task WrongNodeLooksLikeAMissingVmAndCloneToExistingIdFails()
    {
        _host.State.AddNode("pve2");
        using var client = _host.TokenClient();
        var e = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.GetVmStatusAsync("pve2", 9000));
        Assert.Equal(FailureKind.ObjectNotFound, e.Kind);
        var exists = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.CloneVmAsync("pve1", 9000, new CloneRequest(9000)));
        Assert.Equal("unable to create VM 9000: config file already exists", exists.ApiMessage);
        var linked = await Assert.ThrowsAsync<ProxmoxApiException>(() => client.CloneVmAsync("pve1", 9000, new CloneRequest(160) { Storage = "local-lvm" }));
        Assert.Equal("parameter 'storage' not allowed for linked clones", linked.ApiMessage);
    }

    [Fact]
    public async Task ControlEndpointsInjectFaultsAndExposeTheRequestLog()
    {
        using var admin = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true })
        { BaseAddress = _host.Emulator.BaseUri };
        using var add = await admin.PostAsync("_emulator/faults", new StringContent(
            "{\"kind\":\"Status\",\"method\":\"GET\",\"pathContains\":\"/cluster/nextid\",\"status\":503,\"message\":\"busy\",\"times\":1}",
            new MediaTypeHeaderValue("application/json")));
        Assert.Equal(HttpStatusCode.OK, add.StatusCode);
        using var failed = await _http.SendAsync(Req(HttpMethod.Get, "cluster/nextid"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        using var ok = await _http.SendAsync(Req(HttpMethod.Get, "cluster/nextid"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        using var vm = await admin.PostAsync("_emulator/vms", new StringContent(
            "{\"vmid\":170,\"node\":\"pve1\",\"status\":\"running\",\"config\":{\"name\":\"db\",\"agent\":\"1\"},\"guestIp\":\"198.51.100.7\"}",
            new MediaTypeHeaderValue("application/json")));
        Assert.Equal(HttpStatusCode.OK, vm.StatusCode);

        var log = JsonDocument.Parse(await admin.GetStringAsync("_emulator/requests")).RootElement;
        Assert.Equal(2, log.GetArrayLength());
        Assert.Equal(503, log[0].GetProperty("status").GetInt32());
        Assert.DoesNotContain(_host.Emulator.TokenSecret, log.GetRawText());
        Assert.True(_host.State.Vms.ContainsKey(170));
    }

    [Fact]
    public async Task SlowResponsesAreDelayed()
    {
        _host.Emulator.Faults.SlowPath("/version", 400);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var r = await _http.SendAsync(Req(HttpMethod.Get, "version"));
        Assert.True(watch.ElapsedMilliseconds >= 390);
    }
}
