using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace InfraRelocation.Testing.Proxmox;

/// <summary>
/// Control endpoints under /_emulator (loopback only, no auth) for tests running the emulator as a process.
/// </summary>
internal sealed class AdminEndpoints(EmulatorState state)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    public async Task HandleAsync(HttpContext ctx)
    {
        if (ctx.Connection.RemoteIpAddress is { } ip && !IPAddress.IsLoopback(ip))
        {
            ctx.Response.StatusCode = 403;
            return;
        }
        var path = ctx.Request.Path.Value!["/_emulator".Length..].TrimEnd('/');
        var method = ctx.Request.Method;
        JsonElement body = default;
        if (ctx.Request.ContentLength > 0)
            body = (await JsonDocument.ParseAsync(ctx.Request.Body)).RootElement;
        object? result = null;
        try
        {
            lock (state.Sync)
            {
                state.Tick();
                result = (method, path) switch
                {
                    ("GET", "/requests") => state.Requests,
                    ("DELETE", "/requests") => Do(state.Requests.Clear),
                    ("GET", "/faults") => state.Faults.List(),
                    ("POST", "/faults") => Do(() => state.Faults.Add(body.Deserialize<Fault>(Json)!)),
                    ("DELETE", "/faults") => Do(state.Faults.Clear),
                    ("POST", "/nodes") => Do(() => state.AddNode(Str(body, "name")!)),
                    ("POST", "/templates") => Do(() => state.AddTemplate(body.GetProperty("vmid").GetInt32(), Str(body, "node") ?? ProxmoxEmulator.DefaultNode,
                        Str(body, "name") ?? "template", Str(body, "storage") ?? "local-lvm")),
                    ("POST", "/storages") => Do(() => SeedFile.AddStorage(state, body)),
                    ("POST", "/vms") => Do(() => SeedFile.AddVm(state, body)),
                    ("POST", "/pools") => Do(() => state.AddPool(Str(body, "poolid")!)),
                    ("POST", "/tokens") => Do(() => state.AddToken(Str(body, "tokenId")!, Str(body, "secret")!)),
                    ("POST", "/users") => Do(() => state.AddUser(Str(body, "username")!, Str(body, "password")!)),
                    ("POST", "/deny") => Do(() => state.Deny(Str(body, "path")!, Str(body, "privilege")!, Str(body, "principal") ?? "*")),
                    ("DELETE", "/deny") => Do(state.Denied.Clear),
                    ("POST", "/options") => Do(() => ApplyOptions(body)),
                    ("GET", "/state") => Snapshot(),
                    _ when method == "POST" && path.StartsWith("/vms/", StringComparison.Ordinal) => VmControl(path, body),
                    _ when method == "POST" && path.StartsWith("/nodes/", StringComparison.Ordinal) && path.EndsWith("/certificate", StringComparison.Ordinal) =>
                        Do(() => state.RenewNodeCertificate(path["/nodes/".Length..^"/certificate".Length])),
                    _ => throw new KeyNotFoundException($"unknown control endpoint {method} {path}"),
                };
            }
        }
        catch (Exception e) when (e is KeyNotFoundException or JsonException or InvalidOperationException or FormatException)
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsJsonAsync(new { error = e.Message });
            return;
        }
        await ctx.Response.WriteAsJsonAsync(result, Json);
    }

    private static object Do(Action a) { a(); return new { ok = true }; }

    private static string? Str(JsonElement e, string name) => SeedFile.Str(e, name);

    private void ApplyOptions(JsonElement body)
    {
        var o = state.Options;
        if (body.TryGetProperty("taskDurationMs", out var d)) o.DefaultTaskDuration = TimeSpan.FromMilliseconds(d.GetInt32());
        if (body.TryGetProperty("taskDurations", out var ds))
            foreach (var p in ds.EnumerateObject()) o.TaskDurations[p.Name] = TimeSpan.FromMilliseconds(p.Value.GetInt32());
        if (body.TryGetProperty("agentBootPolls", out var a)) o.AgentBootPolls = a.GetInt32();
        if (body.TryGetProperty("taskInvisiblePolls", out var ti)) o.TaskInvisiblePolls = ti.GetInt32();
        if (body.TryGetProperty("includeMessageField", out var m)) o.IncludeMessageField = m.GetBoolean();
        if (body.TryGetProperty("resizeReturnsUpid", out var r)) o.ResizeReturnsUpid = r.GetBoolean();
        if (body.TryGetProperty("authFailureDelayMs", out var ad)) o.AuthFailureDelay = TimeSpan.FromMilliseconds(ad.GetInt32());
        if (body.TryGetProperty("resourceLagMs", out var rl)) o.ResourceLag = TimeSpan.FromMilliseconds(rl.GetInt32());
    }

    /// <summary>POST /_emulator/vms/{vmid}/lock {"lock":"clone"|null}, /guest {"ip":..,"agentBootPolls":..,"linkLocalOnlyPolls":..,"ignoresShutdown":..}, /status {"status":..}.</summary>
    private object VmControl(string path, JsonElement body)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var vm = state.Vms[int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)];
        switch (parts.ElementAtOrDefault(2))
        {
            case "lock": state.SetLock(vm.VmId, Str(body, "lock")); break;
            case "guest":
                if (Str(body, "ip") is { } ip) vm.GuestIp = ip;
                if (body.TryGetProperty("agentBootPolls", out var k)) vm.AgentBootPolls = k.GetInt32();
                if (body.TryGetProperty("ignoresShutdown", out var s)) vm.IgnoresShutdown = s.GetBoolean();
                if (body.TryGetProperty("linkLocalOnlyPolls", out var ll)) vm.LinkLocalOnlyPolls = ll.GetInt32();
                break;
            case "status": vm.Status = Str(body, "status")!; break;
            case "ha": vm.HaManaged = body.GetProperty("managed").GetBoolean(); break;
            default: throw new KeyNotFoundException($"unknown VM control {path}");
        }
        return new { ok = true };
    }

    private object Snapshot() => new
    {
        nodes = state.Nodes.Keys,
        vms = state.Vms.Values.Select(v => new { vmid = v.VmId, node = v.Node, status = v.Status, config = v.Config }),
        tasks = state.Tasks.Select(t => new { upid = t.Upid, type = t.Type, id = t.Id, finished = t.Finished, exitstatus = t.ExitStatus }),
        pools = state.Pools.ToDictionary(p => p.Key, p => p.Value.ToList()),
    };
}
