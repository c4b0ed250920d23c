// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title TestERC20
/// @notice Plain ERC-20 for tests and benchmarks. Anyone may mint. NOT for production.
/// @dev    Name and symbol are constants, so the runtime code works when placed in genesis
///         (no constructor needed); it can also be deployed normally.
///
///  Storage layout (same as OpenZeppelin's ERC20 for the first three slots):
///   slot 0: balanceOf mapping(address => uint256); balance of a at keccak256(pad32(a) ++ pad32(0))
///   slot 1: allowance mapping(address => mapping(address => uint256)); allowance[o][s] at
///           keccak256(pad32(s) ++ keccak256(pad32(o) ++ pad32(1)))
///   slot 2: totalSupply uint256
contract TestERC20 {
    string public constant name = "Test Token";
    string public constant symbol = "TEST";
    uint8 public constant decimals = 18;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint256 public totalSupply;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice Creates `amount` tokens for `to`. Open to anyone.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount; // cannot overflow: bounded by totalSupply
        }
        emit Transfer(address(0), to, amount);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @notice Moves tokens using an allowance; an allowance of type(uint256).max is never reduced.
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= amount, "TestERC20: insufficient allowance");
            unchecked {
                allowance[from][msg.sender] = allowed - amount;
            }
        }
        _transfer(from, to, amount);
        return true;
    }

    function _transfer(address from, address to, uint256 amount) private {
        uint256 bal = balanceOf[from];
        require(bal >= amount, "TestERC20: insufficient balance");
        unchecked {
            balanceOf[from] = bal - amount;
            balanceOf[to] += amount; // cannot overflow: bounded by totalSupply
        }
        emit Transfer(from, to, amount);
    }
}
