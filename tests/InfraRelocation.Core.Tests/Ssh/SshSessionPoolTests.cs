using System.Diagnostics;
using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Core.Tests.Ssh;

[Collection(SshServerCollection.Name)]
public sealed class SshSessionPoolTests(SshServerFixture fx)
{
    private void SkipIfNoSshd() => Skip.If(fx.SkipReason is not null, fx.SkipReason);

    [SkippableFact]
    public async Task Run_ReturnsOutputErrorAndExitCode()
    {
        SkipIfNoSshd();
        using var pool = new SshSessionPool();
        var r = await pool.RunAsync(fx.Endpoint(fx.Default), "echo out; echo err >&2; exit 3");
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
        Assert.Equal(3, r.ExitCode);
        Assert.False(r.Succeeded);
        var ex = Assert.Throws<RelocationException>(() => r.EnsureSuccess());
        Assert.Equal("SshCommandFailed", ex.ErrorId);
        Assert.Contains("err", ex.Message);
        Assert.True(r.Duration > TimeSpan.Zero);
    }
}
