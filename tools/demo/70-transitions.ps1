# Demo step: the relocation of the sample estate from preflight to complete, through the transition cmdlets.
# Runs inside tools/Invoke-Demo.ps1: $WalkRoot is a throw-away copy of the sample estate.
#
# Entering cutover needs a passing preflight receipt (the manifest's rollback section asks for a health baseline and
# backup verification). The sample's hosts have documentation addresses the demo must never contact, so this walk
# uses a stand-in receipt written by tools/Add-PreflightEvidence.ps1 (no probes run: demo evidence only); step 60
# shows the real Invoke-RelocationPreflight against local sshd instances.
#
# The walk runs on its own copy of the demo estate ($WalkRoot), so the demo estate itself stays in preflight.

$WalkRoot = Join-Path ([IO.Path]::GetTempPath()) "infra-relocation-walk-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
New-Item -ItemType Directory $WalkRoot | Out-Null
Copy-Item (Join-Path $DemoRoot 'ops') (Join-Path $WalkRoot 'ops') -Recurse
Write-DemoStep 'Transitions: a private copy of the demo estate for the walk'
Write-DemoCommand '$WalkRoot = <temp folder>; Copy-Item $DemoRoot/ops $WalkRoot/ops -Recurse'
Write-Host $WalkRoot

$manifestPath = Join-Path $WalkRoot 'ops' 'bindings' 'infra.relocation.plan.yaml'
$ledgerPath = Join-Path $WalkRoot 'receipts' 'ledger.jsonl'

Write-DemoStep 'Cutover is refused without evidence and approval (guards run even with -WhatIf)'
Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State cutover -WhatIf'
try {
    Set-RelocationState -Root $WalkRoot -State cutover -WhatIf | Out-Null
    throw 'Expected TransitionBlocked.'
} catch {
    if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }
    Write-Host "$($_.FullyQualifiedErrorId):`n$($_.Exception.Message)"
}

Write-DemoStep 'An illegal step names the allowed next state'
Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State complete'
try {
    Set-RelocationState -Root $WalkRoot -State complete | Out-Null
    throw 'Expected RelocationStateTransitionNotAllowed.'
} catch {
    if ($_.FullyQualifiedErrorId -notlike 'RelocationStateTransitionNotAllowed,*') { throw }
    Write-Host $_.ErrorDetails.Message
}

Write-DemoStep 'Record a VM target after bootstrap: status and mesh address, written byte-exactly (preview, then apply)'
Write-DemoCommand 'Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -WhatIf'
Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -WhatIf | Out-Null
Set-RelocationVmTarget -Root $WalkRoot -Hostname db-main -Status ready -TailscaleIp 100.64.10.112 -Confirm:$false |
    Format-List Outcome, Summary, Changes | Out-Host

Write-DemoStep 'Preflight evidence (a stand-in receipt: the sample hosts are not reachable; step 60 runs the real preflight)'
Write-DemoCommand '& ./tools/Add-PreflightEvidence.ps1 -Root $WalkRoot'
& (Join-Path $RepoRoot 'tools' 'Add-PreflightEvidence.ps1') -Root $WalkRoot

# A loopback health endpoint for the promotion below; wiki's health_url points at it (a planning field, edited by
# hand while the relocation is in preflight).
$listener = [Net.HttpListener]::new()
$probe = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
$probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
$listener.Prefixes.Add("http://127.0.0.1:$port/")
$listener.Start()
$server = Start-ThreadJob -ArgumentList $listener -ScriptBlock {
    param($l)
    while ($l.IsListening) {
        try { $c = $l.GetContext(); $c.Response.StatusCode = 200; $c.Response.Close() } catch { break }
    }
}
$text = [IO.File]::ReadAllText($manifestPath)
[IO.File]::WriteAllText($manifestPath, $text.Replace('"http://192.0.2.110:3000/healthz"', "`"http://127.0.0.1:$port/healthz`""))

try {
    Write-DemoStep 'Preview the cutover: every guard runs, the exact diff is shown, nothing is written'
    $before = (Get-FileHash $manifestPath).Hash
    Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf"
    Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -WhatIf | Out-Null
    if ((Get-FileHash $manifestPath).Hash -ne $before) { throw '-WhatIf changed the manifest.' }
    Write-Host 'Manifest unchanged (SHA-256 compared).'

    Write-DemoStep 'Enter cutover (prompts by default; -Confirm:$false in scripts)'
    Write-DemoCommand "Set-RelocationState -Root `$WalkRoot -State cutover -ApprovedBy 'cab-chair' -Confirm:`$false | Format-List"
    Set-RelocationState -Root $WalkRoot -State cutover -ApprovedBy 'cab-chair' -Confirm:$false |
        Format-List Outcome, Summary, Changes, Files, RunId | Out-Host

    Write-DemoStep 'The operator points alertmanager''s stack registry entry and health binding at its new host (mon-core)'
    foreach ($e in @(@{ F = 'ops/governance/STACK_REGISTRY.yaml'; P = '(stack_id: alertmanager\n(?:    .*\n)*?    deploy_target: host:)legacy-docker' },
                     @{ F = 'ops/bindings/services.health.yaml'; P = '(- id: alertmanager\n    host: )legacy-docker' })) {
        $file = Join-Path $WalkRoot $e.F
        [IO.File]::WriteAllText($file, [regex]::Replace([IO.File]::ReadAllText($file), $e.P, '${1}mon-core'))
    }

    Write-DemoStep 'Move the services whose SSOT files agree to cutover through the pipeline (the mutation guard passes)'
    Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq ''Shadow'' -or $_.Service -in ''ci-agent'', ''alertmanager'' } | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover'
    (Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq 'Shadow' -or $_.Service -in 'ci-agent', 'alertmanager' } |
        Set-RelocationServiceStatus -Root $WalkRoot -Status cutover | Format-Table | Out-Host

    Write-DemoStep 'A planned service whose SSOT files still name the old host: the guard judges the estate after the move and refuses'
    Write-DemoCommand 'Set-RelocationServiceStatus -Root $WalkRoot -Service loki -Status cutover'
    try { Set-RelocationServiceStatus -Root $WalkRoot -Service loki -Status cutover -ErrorAction Stop | Out-Null; throw 'The guard let D35 red through.' }
    catch { if ($_.FullyQualifiedErrorId -notlike 'TransitionBlocked,*') { throw }; Write-Host $_.Exception.Message }

    Write-DemoStep 'The planned services: cutover forced with a reason (recorded), then rolled back (a change that only removes errors)'
    Write-DemoCommand '$planned | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason ''demo: their SSOT files move in a later change'''
    $planned = (Get-RelocationManifest -Root $WalkRoot).Services | Where-Object { $_.Status -eq 'Planned' -and $_.RollbackTo }
    $planned | Set-RelocationServiceStatus -Root $WalkRoot -Status cutover -Force -Reason 'demo: their SSOT files move in a later change' -WarningAction SilentlyContinue |
        Select-Object -First 1 | Format-List Subject, Outcome, OverrideReason, Overrides | Out-Host
    Write-DemoCommand '$planned | Set-RelocationServiceStatus -Root $WalkRoot -Status rolled-back'
    $planned | Set-RelocationServiceStatus -Root $WalkRoot -Status rolled-back -WarningAction SilentlyContinue | Measure-Object | ForEach-Object { Write-Host "$($_.Count) services rolled back." }

    Write-DemoStep 'Health-gated promotion of wiki: 3 consecutive healthy probes, then parity on the written files'
    Write-DemoCommand 'Invoke-RelocationPromotion -Root $WalkRoot -Service wiki -Probes 3 -IntervalSeconds 0.2 -WindowSeconds 10 | Format-List'
    $promotion = Invoke-RelocationPromotion -Root $WalkRoot -Service wiki -Probes 3 -IntervalSeconds 0.2 -WindowSeconds 10
    $promotion | Format-List Outcome, Summary, Probes, ParityPassed, RevertReason | Out-Host
    if ($promotion.Outcome -notin 'Succeeded', 'Reverted') { throw "Unexpected promotion outcome $($promotion.Outcome)." }
} finally {
    $listener.Stop()
    $server | Wait-Job -Timeout 5 | Out-Null
    $server | Remove-Job -Force
}

Write-DemoStep 'The other services have no reachable endpoint here: record applied without probes (-Force, recorded)'
Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object Status -EQ Cutover | Set-RelocationServiceStatus -Root $WalkRoot -Status applied -Force -Reason ''no reachable endpoint in the demo'''
(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object Status -EQ Cutover |
    Set-RelocationServiceStatus -Root $WalkRoot -Status applied -Force -Reason 'no reachable endpoint in the demo' -WarningAction SilentlyContinue | Measure-Object | ForEach-Object { Write-Host "$($_.Count) services applied." }

Write-DemoStep 'Cleanup, decommission every service, complete'
Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State cleanup -Confirm:$false'
Set-RelocationState -Root $WalkRoot -State cleanup -Confirm:$false | Format-Table | Out-Host
Write-DemoCommand '(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object Status -NE RolledBack | Set-RelocationServiceStatus -Root $WalkRoot -Status complete'
(Get-RelocationManifest -Root $WalkRoot).Services | Where-Object Status -NE RolledBack |
    Set-RelocationServiceStatus -Root $WalkRoot -Status complete -WarningAction SilentlyContinue | Out-Null
Write-DemoCommand 'Set-RelocationState -Root $WalkRoot -State complete -Confirm:$false'
Set-RelocationState -Root $WalkRoot -State complete -Confirm:$false | Format-Table | Out-Host

Write-DemoStep 'Archive the complete relocation with its evidence (active_relocation: null), then start the next one'
Write-DemoCommand 'Close-Relocation -Root $WalkRoot -Confirm:$false | Format-List Outcome, Summary, Diff'
Close-Relocation -Root $WalkRoot -Confirm:$false | Format-List Outcome, Summary, Diff | Out-Host
Write-DemoCommand "Start-Relocation -Root `$WalkRoot -ChangeId 'CHG-2027-0001-NEXT' -Owner '@mkoenig' | Format-Table"
Start-Relocation -Root $WalkRoot -ChangeId 'CHG-2027-0001-NEXT' -Owner '@mkoenig' | Format-Table | Out-Host

Write-DemoStep 'The ledger is the history: every transition, chained'
Write-DemoCommand 'Test-RelocationReceiptChain -Root $WalkRoot'
Test-RelocationReceiptChain -Root $WalkRoot | Format-List IsValid, ReceiptCount | Out-Host
$counts = Get-Content $ledgerPath | ForEach-Object { ($_ | ConvertFrom-Json).receipt } | Group-Object Capability, Outcome -NoElement
$counts | Sort-Object Name | Format-Table Count, Name | Out-Host

Remove-Item $WalkRoot -Recurse -Force -ErrorAction Ignore
