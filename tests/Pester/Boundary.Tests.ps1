# Issue 16.5: the estate root is a boundary. A path entry or receipts folder in ops/infra-relocation.yaml that leaves
# the root ('..' or absolute, each for both), a symlinked governance folder and a symlinked governance file each stop every command
# with one located EstatePathEscapesRoot error, and nothing is written: not the estate, not the ledger, not outside.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'
    $script:Config = 'ops/infra-relocation.yaml'

    # Every file below a folder (dot-folders included) with its SHA-256; a missing folder is empty.
    function Get-Tree([string] $Folder) {
        $h = [ordered]@{}
        if (Test-Path $Folder) {
            Get-ChildItem $Folder -Recurse -File -Force | Sort-Object FullName | ForEach-Object { $h[$_.FullName] = (Get-FileHash -LiteralPath $_.FullName).Hash }
        }
        $h | ConvertTo-Json -Compress
    }

    function Edit-Config([string] $Root, [string] $Pattern, [string] $Replacement) { Edit-EstateFile $Root $Config $Pattern $Replacement }
}

Describe 'The estate root is a boundary' {
    BeforeEach {
        $script:Parent = Join-Path $TestDrive ([guid]::NewGuid().ToString('n').Substring(0, 8))
        New-Item -ItemType Directory $Parent | Out-Null
        $script:Root = New-TestEstate -Name boundary
        Move-Item $Root (Join-Path $Parent 'estate')
        $script:Root = Join-Path $Parent 'estate'
        Invoke-RelocationParity -Root $Root | Out-Null   # a real receipt: the ledger exists before the refusals
        # Outside the root: a copy of the governance folder the escapes point at.
        $script:Outside = Join-Path $Parent 'outside'
        Copy-Item (Join-Path $Root 'ops' 'governance') $Outside -Recurse
    }

    It '<Name>: a located EstatePathEscapesRoot for a transition and a read, nothing written anywhere' -ForEach @(
        @{ Name = "a paths: entry with '..'"; Location = '^ops/infra-relocation.yaml:7:21: '; Arrange = {
            Edit-Config $Root '^  service_registry: .*$' '  service_registry: ../outside/SERVICE_REGISTRY.yaml' } }
        @{ Name = 'an absolute paths: entry outside'; Location = '^ops/infra-relocation.yaml:7:21: '; Arrange = {
            Edit-Config $Root '^  service_registry: .*$' "  service_registry: $Outside/SERVICE_REGISTRY.yaml" } }
        @{ Name = "a receipts folder with '..'"; Location = '^ops/infra-relocation.yaml:\d+:11: '; Arrange = {
            Edit-Config $Root '^  folder: receipts$' '  folder: ../outside/receipts' } }
        @{ Name = 'an absolute receipts folder outside'; Location = '^ops/infra-relocation.yaml:\d+:11: '; Arrange = {
            Edit-Config $Root '^  folder: receipts$' "  folder: $Outside/receipts" } }
        @{ Name = 'a symlinked governance folder'; Location = '^ops/infra-relocation.yaml:7:21: '; Arrange = {
            Remove-Item (Join-Path $Root 'ops' 'governance') -Recurse -Force
            New-Item -ItemType SymbolicLink -Path (Join-Path $Root 'ops' 'governance') -Target $Outside | Out-Null } }
        @{ Name = 'a symlinked registry file'; Location = '^ops/infra-relocation.yaml:7:21: '; Arrange = {
            $registry = Join-Path $Root 'ops' 'governance' 'SERVICE_REGISTRY.yaml'
            Remove-Item $registry
            New-Item -ItemType SymbolicLink -Path $registry -Target (Join-Path $Outside 'SERVICE_REGISTRY.yaml') | Out-Null } }
    ) {
        . $Arrange
        $estateBefore = Get-Tree $Root
        $outsideBefore = Get-Tree $Outside

        $err = { Set-RelocationServiceStatus -Root $Root -Service bookmarks -Status shadow -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId "EstatePathEscapesRoot,$Ns.SetRelocationServiceStatusCommand" -PassThru
        $err.CategoryInfo.Category | Should -Be 'SecurityError'
        $err.ErrorDetails.Message | Should -Match $Location
        { Test-RelocationManifest -Root $Root -ErrorAction Stop } | Should -Throw -ErrorId "EstatePathEscapesRoot,$Ns.TestRelocationManifestCommand"

        Get-Tree $Root | Should -BeExactly $estateBefore -Because 'nothing in the estate is written, not even a receipt'
        Get-Tree $Outside | Should -BeExactly $outsideBefore -Because 'nothing outside the root is written'
    }
}
