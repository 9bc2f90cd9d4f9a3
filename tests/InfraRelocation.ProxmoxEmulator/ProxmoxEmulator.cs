using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace InfraRelocation.Testing.Proxmox;

/// <summary>
/// A loopback Proxmox VE API (HTTPS, self-signed certificate made at start). Use in-process
/// (<see cref="StartAsync"/>, <see cref="State"/>, <see cref="Faults"/>) or as a process (Program.cs).
/// </summary>
public sealed class ProxmoxEmulator : IAsyncDisposable
{
    public const string DefaultNode = "pve1";
    public const string DefaultTokenId = "root@pam!emulator";
    public const string DefaultUser = "root@pam";
    public const int DefaultTemplateId = 9000;

    private WebApplication? _app;
    private X509Certificate2? _certificate;

    public ProxmoxEmulator(EmulatorOptions? options = null)
    {
        Options = options ?? new EmulatorOptions();
        State = new EmulatorState(Options);
        TokenSecret = Guid.NewGuid().ToString();
        Password = "emulator-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
    }

    public EmulatorOptions Options { get; }
    public EmulatorState State { get; }
    public FaultRegistry Faults => State.Faults;
    public Uri BaseUri { get; private set; } = new("https://127.0.0.1/");
    public string CertificateFingerprint { get; private set; } = "";
    public string TokenId => DefaultTokenId;
    public string TokenSecret { get; }
    public string User => DefaultUser;
    public string Password { get; }

    /// <summary>Seeds the default cluster (node pve1, template 9000, the token and root@pam), or loads --state.</summary>
    private void Seed()
    {
        State.AddToken(TokenId, TokenSecret);
        State.AddUser(User, Password);
        if (Options.StatePath is { } path)
        {
            SeedFile.Apply(State, File.ReadAllText(path));
            return;
        }
        State.AddNode(DefaultNode);
        State.AddTemplate(DefaultTemplateId, DefaultNode, "tpl-debian12");
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null) throw new InvalidOperationException("The emulator is already running.");
        Seed();
        _certificate = CreateCertificate(State.Nodes.Keys.DefaultIfEmpty(DefaultNode).First());
        CertificateFingerprint = string.Join(':', SHA256.HashData(_certificate.RawData).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        State.CertificateFingerprint = CertificateFingerprint;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(ProxmoxEmulator).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, Options.Port, l =>
            {
                l.Protocols = HttpProtocols.Http1;
                l.UseHttps(_certificate);
            });
        });
        var app = builder.Build();
        var api = new ApiHandlers(State);
        var admin = new AdminEndpoints(State);
        app.Run(ctx => ctx.Request.Path.StartsWithSegments("/_emulator") ? admin.HandleAsync(ctx) : api.HandleAsync(ctx));
        await app.StartAsync(cancellationToken);
        _app = app;
        var address = app.Urls.First();
        var port = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port;
        BaseUri = new Uri($"https://127.0.0.1:{port}/");
    }

    public void Start() => StartAsync().GetAwaiter().GetResult();

    /// <summary>Cancelled when the host begins to stop (its console lifetime also reacts to SIGTERM).</summary>
    public CancellationToken Stopping => _app?.Lifetime.ApplicationStopping ?? CancellationToken.None;

    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
        _certificate?.Dispose();
    }

    public void Stop() => StopAsync().GetAwaiter().GetResult();

    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>The startup line printed by the process mode.</summary>
    public string DescribeJson() => JsonSerializer.Serialize(new
    {
        url = BaseUri.ToString().TrimEnd('/'), fingerprint = CertificateFingerprint, tokenId = TokenId, secret = TokenSecret,
        user = User, password = Password, node = State.Nodes.Keys.FirstOrDefault(),
    });

    private static X509Certificate2 CreateCertificate(string node)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={node}.emulator.invalid, O=PVE Cluster Node, OU=InfraRelocation emulator", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        san.AddDnsName(node);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}

/// <summary>
/// Seed file: <c>{"nodes":["pve1"], "storages":[{"storage":"ceph-vm","type":"rbd","content":"images","shared":1}],
/// "templates":[{"vmid":9000,"node":"pve1","name":"tpl","storage":"ceph-vm"}],
/// "vms":[{"vmid":100,"node":"pve1","status":"running","config":{...}}], "tokens":[{"tokenId":"u@pve!t","secret":"..."}],
/// "users":[{"username":"u@pve","password":"..."}]}</c>.
/// </summary>
internal static class SeedFile
{
    public static void Apply(EmulatorState state, string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.TryGetProperty("nodes", out var nodes))
            foreach (var n in nodes.EnumerateArray()) state.AddNode(n.GetString()!);
        if (root.TryGetProperty("templates", out var templates))
            foreach (var t in templates.EnumerateArray())
                state.AddTemplate(t.GetProperty("vmid").GetInt32(), Str(t, "node") ?? ProxmoxEmulator.DefaultNode, Str(t, "name") ?? "template",
                    Str(t, "storage") ?? "local-lvm");
        if (root.TryGetProperty("storages", out var storages))
            foreach (var s in storages.EnumerateArray()) AddStorage(state, s);
        if (root.TryGetProperty("vms", out var vms))
            foreach (var v in vms.EnumerateArray()) AddVm(state, v);
        if (root.TryGetProperty("pools", out var pools))
            foreach (var pool in pools.EnumerateArray()) state.AddPool(pool.GetString()!);
        if (root.TryGetProperty("tokens", out var tokens))
            foreach (var t in tokens.EnumerateArray()) state.AddToken(Str(t, "tokenId")!, Str(t, "secret")!);
        if (root.TryGetProperty("users", out var users))
            foreach (var u in users.EnumerateArray()) state.AddUser(Str(u, "username")!, Str(u, "password")!);
        if (state.Nodes.Count == 0) state.AddNode(ProxmoxEmulator.DefaultNode);
    }

    /// <summary><c>{"storage":"ceph-vm","type":"rbd","content":"images","shared":1}</c>.</summary>
    public static StorageState AddStorage(EmulatorState state, JsonElement s) =>
        state.AddStorage(Str(s, "storage")!, Str(s, "type") ?? "dir", Str(s, "content") ?? "images",
            s.TryGetProperty("shared", out var sh) && (sh.ValueKind == JsonValueKind.True || (sh.ValueKind == JsonValueKind.Number && sh.GetInt32() == 1)));

    public static VmState AddVm(EmulatorState state, JsonElement v)
    {
        var config = new Dictionary<string, string>();
        if (v.TryGetProperty("config", out var c))
            foreach (var p in c.EnumerateObject()) config[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        var vm = state.AddVm(v.GetProperty("vmid").GetInt32(), Str(v, "node") ?? ProxmoxEmulator.DefaultNode, config,
            v.TryGetProperty("template", out var t) && (t.ValueKind == JsonValueKind.True || (t.ValueKind == JsonValueKind.Number && t.GetInt32() == 1)),
            Str(v, "status") ?? "stopped");
        if (Str(v, "guestIp") is { } ip) vm.GuestIp = ip;
        return vm;
    }

    public static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : null;
}
